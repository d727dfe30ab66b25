#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/duration.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/timespan.hpp>
#include <gtest/gtest.h>

namespace ferry_test {

/// Runs `fn` inside the actor that receives this message, on its own
/// context: the only safe way to deliver a response promise the actor
/// holds (delivering from the test's thread would use a stale execution
/// unit of the test scheduler). Local only; never serialised.
struct in_context {
  std::function<void(caf::event_based_actor*)> fn;
};

} // namespace ferry_test

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ferry_test::in_context)

namespace ferry_test {

/// The outcome of a request the fixture sent: a value, an error, or (while
/// `arrived` is false) nothing yet.
template <class T>
struct response {
  bool arrived = false;
  std::optional<T> value;
  caf::error error;

  /// True if the answer arrived and was a value.
  bool ok() const {
    return arrived && value.has_value();
  }
};

/// What a watcher saw of an actor: whether it terminated and why.
struct lifetime {
  bool down = false;
  caf::error reason;
};

/// Every message a probe received, in order.
struct inbox {
  std::vector<caf::message> messages;

  /// Number of messages holding exactly one `T`.
  template <class T>
  size_t count() const {
    size_t n = 0;
    for (auto& m : messages)
      if (m.match_elements<T>())
        ++n;
    return n;
  }

  /// The `i`-th message holding exactly one `T`.
  template <class T>
  const T& get(size_t i = 0) const {
    for (auto& m : messages)
      if (m.match_elements<T>() && i-- == 0)
        return m.get_as<T>(0);
    throw std::out_of_range("no such message in the probe's inbox");
  }
};

/// A deterministic actor system for one test (docs/architecture.md,
/// "Conventions"): CAF's test_coordinator runs every scheduled actor on the
/// test's own thread, only when the test says so, and its clock moves only
/// when the test advances it, so request timeouts and delayed messages fire
/// exactly when a test wants them to.
///
/// `run()` drains the message queues without touching the clock;
/// `advance_time(d)` moves the clock, dispatches whatever fell due and
/// drains again. Actors under test are spawned with `spawn()` (never
/// detached) so that the fixture can end them before the system goes away.
class actor_fixture : public ::testing::Test {
protected:
  /// Configuration: testing scheduler, ferry's message types.
  struct config : caf::actor_system_config {
    config();
  };

  actor_fixture();
  ~actor_fixture() override;

  /// Processes queued messages until no actor has work left. Does not
  /// move the clock. Returns the number of messages processed.
  size_t run();

  /// Moves the clock by `d`, dispatches the timeouts and delayed messages
  /// that fell due, then `run()`s. Returns the number of timeouts fired.
  size_t advance_time(caf::timespan d);

  /// Spawns `fun(xs...)` on the test scheduler; the fixture kills it at
  /// the end of the test if it is still alive.
  template <class F, class... Ts>
  caf::actor spawn(F fun, Ts&&... xs) {
    auto hdl = caf::actor_cast<caf::actor>(
      sys.spawn(fun, std::forward<Ts>(xs)...));
    spawned_.push_back(hdl);
    return hdl;
  }

  /// Sends `xs...` as a request from a fresh actor and returns a slot for
  /// the answer, filled by a later `run()`. `timeout` is on the test clock
  /// (`caf::infinite`: never).
  template <class T, class... Ts>
  std::shared_ptr<response<T>> request_within(const caf::actor& dest,
                                              caf::duration timeout,
                                              Ts... xs) {
    auto slot = std::make_shared<response<T>>();
    auto args = std::make_tuple(std::move(xs)...);
    spawn([dest, timeout, args, slot](caf::event_based_actor* self) {
      auto send = [&](const auto&... ys) {
        return self->request(dest, timeout, ys...);
      };
      std::apply(send, args)
        .then(
          [self, slot](T& x) {
            slot->arrived = true;
            slot->value = std::move(x);
            self->quit();
          },
          [self, slot](caf::error& err) {
            slot->arrived = true;
            slot->error = std::move(err);
            self->quit();
          });
      return caf::behavior{[](const in_context&) {}};
    });
    return slot;
  }

  /// `request_within` without a timeout.
  template <class T, class... Ts>
  std::shared_ptr<response<T>> request(const caf::actor& dest, Ts... xs) {
    return request_within<T>(dest, caf::infinite, std::move(xs)...);
  }

  /// Sends `xs...` to `dest` without a sender.
  template <class... Ts>
  void send(const caf::actor& dest, Ts&&... xs) {
    caf::anon_send(dest, std::forward<Ts>(xs)...);
  }

  /// Runs `fn` in `who`'s context (who must handle `in_context`), then
  /// `run()`s.
  void inside(const caf::actor& who,
              std::function<void(caf::event_based_actor*)> fn);

  /// Kills `who` (exit reason kill) and `run()`s, so that its monitors
  /// have seen it go.
  void kill(const caf::actor& who);

  /// Starts watching `who`; the slot says whether it terminated.
  std::shared_ptr<lifetime> watch(const caf::actor& who);

  /// An actor that records every message it receives (including errors)
  /// and never answers anything.
  caf::actor probe(std::shared_ptr<inbox>& box);

  config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;

private:
  std::vector<caf::actor> spawned_;
  int log_threshold_;
};

} // namespace ferry_test
