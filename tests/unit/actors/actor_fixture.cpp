#include "tests/unit/actors/actor_fixture.hpp"

#include <cstdlib>

#include <caf/actor_registry.hpp>
#include <caf/atom.hpp>
#include <caf/delegated.hpp>
#include <caf/exit_reason.hpp>
#include <caf/message_view.hpp>
#include <caf/scheduled_actor.hpp>

#include "messages/types.hpp"
#include "util/log.hpp"

namespace ferry_test {

namespace {

/// The current threshold of ferry's log, found by probing `enabled`.
ferry::log::level current_log_level() {
  using ferry::log::level;
  for (auto lvl : {level::debug, level::info, level::warning})
    if (ferry::log::enabled(lvl))
      return lvl;
  return level::error;
}

} // namespace

actor_fixture::config::config() {
  ferry::add_message_types(*this);
  set("scheduler.policy", caf::atom("testing"));
}

actor_fixture::actor_fixture()
  : sys(cfg),
    sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
    log_threshold_(static_cast<int>(current_log_level())) {
  // The actors under test log every failure path they take; keep the test
  // output readable unless FERRY_TEST_LOG=debug|info|warning asks for it.
  auto lvl = ferry::log::level::error;
  if (auto env = std::getenv("FERRY_TEST_LOG"))
    ferry::log::parse_level(env, lvl);
  ferry::log::setup(lvl, "ferry-unit-tests");
}

actor_fixture::~actor_fixture() {
  // End whatever a test left alive (held requests, actors waiting for a
  // resolution that never comes) so that the system's shutdown does not
  // wait for them, nor loop on their periodic self-messages.
  for (auto& hdl : spawned_)
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
  run();
  spawned_.clear();
  if (sys.registry().running() != 0) {
    ADD_FAILURE() << sys.registry().running()
                  << " actor(s) the fixture did not spawn are still running";
    sys.await_actors_before_shutdown(false);
  }
  ferry::log::setup(static_cast<ferry::log::level>(log_threshold_),
                    "ferry-unit-tests");
}

size_t actor_fixture::run() {
  size_t n = 0;
  while (sched.try_run_once())
    ++n;
  return n;
}

size_t actor_fixture::advance_time(caf::timespan d) {
  auto fired = sched.advance_time(d);
  run();
  return fired;
}

void actor_fixture::inside(const caf::actor& who,
                           std::function<void(caf::event_based_actor*)> fn) {
  caf::anon_send(who, in_context{std::move(fn)});
  run();
}

void actor_fixture::kill(const caf::actor& who) {
  caf::anon_send_exit(who, caf::exit_reason::kill);
  run();
}

std::shared_ptr<lifetime> actor_fixture::watch(const caf::actor& who) {
  auto slot = std::make_shared<lifetime>();
  spawn([who, slot](caf::event_based_actor* self) {
    self->monitor(who);
    self->set_down_handler([self, slot](caf::down_msg& msg) {
      slot->down = true;
      slot->reason = msg.reason;
      self->quit();
    });
    return caf::behavior{[](const in_context&) {}};
  });
  run();
  return slot;
}

caf::actor actor_fixture::probe(std::shared_ptr<inbox>& box) {
  box = std::make_shared<inbox>();
  auto rec = box;
  return spawn([rec](caf::event_based_actor* self) {
    self->set_default_handler(
      [rec](caf::scheduled_actor*,
            caf::message_view& xs) -> caf::result<caf::message> {
        rec->messages.push_back(xs.copy_content_to_message());
        // Never answer, not even with an empty message.
        return caf::delegated<caf::message>{};
      });
    self->set_error_handler([rec](caf::scheduled_actor*, caf::error& err) {
      rec->messages.push_back(caf::make_message(err));
    });
    self->set_down_handler([rec](caf::down_msg& msg) {
      rec->messages.push_back(caf::make_message(msg));
    });
    return caf::behavior{[self](const in_context& x) { x.fn(self); }};
  });
}

} // namespace ferry_test
