#pragma once

#include <chrono>
#include <future>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "util/error.hpp"

namespace ferry::rpc {

/// Sends `req` to `target` and waits for a `Result`, for code that is not an
/// actor (the CLI's main thread, tests). The request has a timeout and the
/// target is monitored, so a dead agent gives an error within a heartbeat,
/// never a hang (CAF 0.17 does not fail in-flight requests to a lost node).
/// Never call this on a scheduler thread. With a typed `target` (an agent's
/// `session_remote`) the compiler checks `Request` and `Result` against
/// its interface.
template <class Result, class Handle, class Request>
caf::expected<Result> call(caf::actor_system& sys, const Handle& target,
                           Request req, std::chrono::milliseconds timeout) {
  if (!target)
    return make_error(errc::disconnected, "not connected");
  auto done = std::make_shared<std::promise<caf::expected<Result>>>();
  auto future = done->get_future();
  sys.spawn([=](caf::event_based_actor* self) mutable {
    auto answered = std::make_shared<bool>(false);
    auto finish = [self, done, answered](caf::expected<Result> r) {
      if (*answered)
        return;
      *answered = true;
      done->set_value(std::move(r));
      self->quit();
    };
    self->monitor(target);
    self->set_down_handler([finish](caf::down_msg&) {
      finish(make_error(errc::disconnected,
                        "lost the connection to the agent"));
    });
    self->request(target, timeout, std::move(req))
      .then([finish](Result& r) { finish(std::move(r)); },
            [finish](caf::error& e) { finish(std::move(e)); });
  });
  return future.get();
}

} // namespace ferry::rpc
