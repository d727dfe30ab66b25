#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>

namespace ferry {

/// Sends `msg` to every actor in `targets` and calls `done` once with the
/// answers that came back within `timeout` (failures and timeouts are left
/// out). For introspection, where one slow or dead actor must not stall
/// the answer.
template <class T, class Self, class Msg>
void fan_out(Self* self, const std::vector<caf::actor>& targets,
             Msg msg, std::chrono::milliseconds timeout,
             std::function<void(std::vector<T>)> done) {
  struct collector {
    std::vector<T> results;
    size_t pending = 0;
    std::function<void(std::vector<T>)> done;
  };
  auto c = std::make_shared<collector>();
  c->pending = targets.size();
  c->done = std::move(done);
  if (targets.empty()) {
    c->done({});
    return;
  }
  auto one_done = [c] {
    if (--c->pending == 0)
      c->done(std::move(c->results));
  };
  for (auto& t : targets)
    self->request(t, timeout, msg)
      .then([c, one_done](T& x) {
              c->results.push_back(std::move(x));
              one_done();
            },
            [one_done](caf::error&) { one_done(); });
}

} // namespace ferry
