#include "migration/source.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "migration/job_context.hpp"
#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"
#include "tests/unit/actors/fakes.hpp"

using namespace ferry;
using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

using outcomes = std::vector<confirm_outcome>;

constexpr int64_t paused_at = 1'700'000'000'000;

/// A source job between a fake driver actor, a probe as its job manager
/// and a probe as its coordinator (kill it to lose the coordinator).
class source_job : public actor_fixture {
protected:
  source_job() {
    driver = spawn(fake_driver, drv);
    manager = probe(manager_box);
    coord = probe(coord_box);
    events = probe(events_box);
    job_context ctx;
    ctx.agent_name = "agent-a";
    ctx.driver_name = "test";
    ctx.driver = driver;
    ctx.manager = manager;
    ctx.events = events;
    // No identity: an outcome query (ferry+tls) fails at once, without
    // touching the network.
    ctx.id = nullptr;
    ctx.driver_timeout = 10s;
    ctx.connect_timeout = 1s;
    job = spawn(migration_source, ctx);
    life = watch(job);
  }

  mig_begin begin_request() {
    mig_begin req;
    req.job_id = job_id;
    req.domain = "vm1";
    req.flags.dest_uri = "ferry+tls://127.0.0.1:1/test";
    req.flags.live = true;
    req.flags.undefine_source = true;
    req.coordinator = coord;
    req.driver = "test";
    return req;
  }

  std::shared_ptr<response<begin_cookie>> begin() {
    auto res = request<begin_cookie>(job, begin_request());
    run();
    return res;
  }

  prepare_cookie cookie() {
    prepare_cookie pc;
    pc.data_host = "10.0.0.2";
    pc.data_port = 4711;
    pc.token = "one-time-token";
    return pc;
  }

  std::shared_ptr<response<job_stats>> perform(std::string id = {}) {
    auto res = request<job_stats>(job, mig_perform{id.empty() ? job_id : id,
                                                   cookie()});
    run();
    return res;
  }

  std::shared_ptr<response<bool>> confirm(confirm_outcome outcome,
                                          std::string id = {}) {
    auto res = request<bool>(job, mig_confirm{id.empty() ? job_id : id,
                                              outcome});
    run();
    return res;
  }

  std::shared_ptr<response<job_stats>> control(job_verb verb,
                                               uint64_t value = 0) {
    auto res = request<job_stats>(job, job_control{verb, "vm1", value, ""});
    run();
    return res;
  }

  /// The hypervisor reports `status` for the outgoing migration; the
  /// final statistics say the same.
  void hypervisor(const std::string& status, std::string error = {}) {
    drv->progress.value.hv_status = status;
    drv->progress.value.error = std::move(error);
    if (status == "completed") {
      drv->progress.value.data_processed = 1024 * 1024;
      drv->progress.value.data_remaining = 0;
      drv->progress.value.paused_at_ms = paused_at;
      drv->progress.value.iteration = 3;
    }
    ASSERT_TRUE(drv->listener) << "the job never subscribed to events";
    send(drv->listener, migration_event("vm1", status));
    run();
  }

  /// Begin, perform, and the hypervisor reports the data verified.
  void verified() {
    ASSERT_TRUE(begin()->ok());
    auto res = perform();
    hypervisor("completed");
    ASSERT_TRUE(res->ok()) << error_text(res->error);
  }

  /// The lifecycle events the job published, in order.
  std::vector<lifecycle_event> published() const {
    return published_events(*events_box);
  }

  using event_list = std::vector<lifecycle_event>;

  const std::string job_id = "0123456789abcdef0123456789abcdef";
  std::shared_ptr<trace> log = std::make_shared<trace>();
  std::shared_ptr<driver_script> drv = std::make_shared<driver_script>(log);
  std::shared_ptr<inbox> manager_box;
  std::shared_ptr<inbox> coord_box;
  std::shared_ptr<inbox> events_box;
  caf::actor events;
  caf::actor driver;
  caf::actor manager;
  caf::actor coord;
  caf::actor job;
  std::shared_ptr<lifetime> life;
};

} // namespace

// -- begin ------------------------------------------------------------------------

TEST_F(source_job, begin_locks_the_domain_and_answers_a_cookie) {
  auto res = begin();
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_EQ(log->lines(), (std::vector<std::string>{"drv.begin",
                                                    "drv.watch(on)"}));
  ASSERT_EQ(drv->begins.size(), 1u);
  EXPECT_EQ(drv->begins[0].job_id, job_id);
  EXPECT_EQ(drv->begins[0].domain, "vm1");
  auto& c = *res->value;
  EXPECT_EQ(c.source_job, job);
  EXPECT_EQ(c.xml, drv->begin.value.xml);
  EXPECT_EQ(c.source_agent, "agent-a");
  EXPECT_EQ(c.memory_bytes, 1024u * 1024);
  EXPECT_TRUE(c.was_running);
  EXPECT_EQ(drv->listener, job);
  EXPECT_FALSE(life->down);
}

TEST_F(source_job, begin_refused_by_the_driver_ends_the_job) {
  drv->begin.fail(make_error(errc::invalid_state, "vm1 is not running"));
  auto res = begin();
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::invalid_state);
  EXPECT_TRUE(life->down);
  EXPECT_TRUE(drv->confirms.empty());
  EXPECT_TRUE(drv->watches.empty());
}

// -- perform ------------------------------------------------------------------------

TEST_F(source_job, perform_starts_the_hypervisor_towards_the_cookie) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  EXPECT_FALSE(res->arrived) << "answered before the hypervisor finished";
  ASSERT_EQ(drv->starts.size(), 1u);
  auto& t = drv->starts[0].target;
  EXPECT_EQ(t.how, migration_target::kind::native);
  EXPECT_EQ(t.address.host, "10.0.0.2");
  EXPECT_EQ(t.address.port, 4711);
  EXPECT_EQ(t.token, "one-time-token");
  EXPECT_TRUE(t.params.live);
  auto info = control(job_verb::info);
  ASSERT_TRUE(info->ok());
  EXPECT_EQ(info->value->phase, mig_phase::perform);
  EXPECT_EQ(info->value->role, "source");
}

TEST_F(source_job, a_cookie_without_host_sends_where_the_agent_was_reached) {
  ASSERT_TRUE(begin()->ok());
  auto pc = cookie();
  pc.data_host.clear(); // the destination listens on 0.0.0.0
  auto res = request<job_stats>(job, mig_perform{job_id, pc});
  run();
  ASSERT_EQ(drv->starts.size(), 1u);
  EXPECT_EQ(drv->starts[0].target.address.host, "127.0.0.1")
    << "the host of ferry+tls://127.0.0.1:1/test";
  EXPECT_EQ(drv->starts[0].target.address.port, 4711);
}

TEST_F(source_job, perform_completed_answers_with_the_final_stats) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  hypervisor("completed");
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_EQ(res->value->phase, mig_phase::perform);
  EXPECT_EQ(res->value->data_processed, 1024u * 1024);
  EXPECT_EQ(res->value->data_remaining, 0u);
  EXPECT_EQ(res->value->paused_at_ms, paused_at);
  EXPECT_EQ(res->value->job_id, job_id);
  EXPECT_TRUE(drv->confirms.empty()) << "confirm decides, not perform";
  // confirm(committed) destroys the source copy and ends the job.
  auto c = confirm(confirm_outcome::committed);
  ASSERT_TRUE(c->ok()) << error_text(c->error);
  EXPECT_EQ(drv->confirm_outcomes(), (outcomes{confirm_outcome::committed}));
  EXPECT_TRUE(drv->confirms[0].undefine);
  EXPECT_TRUE(drv->confirms[0].was_running);
  EXPECT_EQ(drv->confirms[0].job_id, job_id);
  EXPECT_TRUE(log->has("drv.watch(off)"));
  EXPECT_TRUE(life->down);
}

TEST_F(source_job, verified_data_is_journalled_before_perform_answers) {
  ASSERT_TRUE(begin()->ok());
  drv->journal.hold(); // the write is slow: perform must wait for it
  auto res = perform();
  hypervisor("completed");
  EXPECT_EQ(drv->journal_phases, (std::vector<std::string>{"verified"}));
  EXPECT_FALSE(res->arrived) << "perform answered before the journal write";
  inside(driver, [this](caf::event_based_actor*) {
    drv->journal.held.front().deliver(true);
  });
  ASSERT_TRUE(res->ok()) << error_text(res->error);
}

TEST_F(source_job, a_failed_journal_write_fails_perform) {
  ASSERT_TRUE(begin()->ok());
  drv->journal.fail(make_error(errc::io_error, "disk full"));
  auto res = perform();
  hypervisor("completed");
  ASSERT_TRUE(res->arrived);
  EXPECT_FALSE(res->value) << "finish must not run on an unrecorded commit";
  EXPECT_NE(error_text(res->error).find("cannot journal the verified "
                                        "transfer: disk full"),
            std::string::npos)
    << error_text(res->error);
}

TEST_F(source_job, perform_completion_is_also_seen_by_the_progress_ticks) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  drv->progress.value.hv_status = "completed";
  advance_time(249ms);
  EXPECT_FALSE(res->arrived);
  advance_time(1ms);
  ASSERT_TRUE(res->ok()) << error_text(res->error);
}

TEST_F(source_job, perform_failed_by_the_hypervisor_is_an_error) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  hypervisor("failed", "migration stalled: 12 MiB left after 30 s");
  ASSERT_TRUE(res->arrived);
  EXPECT_FALSE(res->value);
  EXPECT_EQ(code_of(res->error), errc::migration_failed);
  EXPECT_NE(error_text(res->error).find("stalled"), std::string::npos)
    << error_text(res->error);
  EXPECT_TRUE(drv->confirms.empty()) << "the coordinator is still there";
  auto c = confirm(confirm_outcome::failed);
  ASSERT_TRUE(c->ok());
  EXPECT_EQ(drv->confirm_outcomes(), (outcomes{confirm_outcome::failed}));
  EXPECT_TRUE(life->down);
}

TEST_F(source_job, perform_cancelled_by_the_hypervisor_is_an_error) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  hypervisor("cancelled");
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::migration_failed);
  EXPECT_NE(error_text(res->error).find("cancelled"), std::string::npos)
    << error_text(res->error);
}

TEST_F(source_job, events_of_the_incoming_direction_are_ignored) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  drv->progress.value.hv_status = "completed";
  send(drv->listener, migration_event("vm1", "completed", "in"));
  run();
  EXPECT_FALSE(res->arrived);
}

TEST_F(source_job, driver_refusing_to_start_fails_perform) {
  drv->start.fail(make_error(errc::hypervisor_error, "listener refused"));
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::hypervisor_error);
  auto info = control(job_verb::info);
  ASSERT_TRUE(info->ok());
  EXPECT_EQ(info->value->phase, mig_phase::failed);
  EXPECT_TRUE(drv->confirms.empty());
}

TEST_F(source_job, abort_during_perform_cancels_and_fails_with_aborted) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  auto ab = control(job_verb::abort);
  ASSERT_TRUE(ab->ok()) << error_text(ab->error);
  EXPECT_EQ(drv->cancels, 1u);
  EXPECT_FALSE(res->arrived) << "perform ends when the hypervisor does";
  hypervisor("cancelled");
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::migration_aborted);
  EXPECT_NE(error_text(res->error).find("aborted"), std::string::npos)
    << error_text(res->error);
}

TEST_F(source_job, abort_outside_a_transfer_is_refused) {
  ASSERT_TRUE(begin()->ok());
  auto ab = control(job_verb::abort);
  ASSERT_TRUE(ab->arrived);
  EXPECT_EQ(code_of(ab->error), errc::invalid_state);
  EXPECT_EQ(drv->cancels, 0u);
}

TEST_F(source_job, speed_and_downtime_changes_reach_the_driver) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  ASSERT_TRUE(control(job_verb::set_speed, 100)->ok());
  ASSERT_TRUE(control(job_verb::set_downtime, 50)->ok());
  auto bad = control(job_verb::set_downtime, 0);
  EXPECT_EQ(code_of(bad->error), errc::invalid_argument);
  ASSERT_EQ(drv->tunes.size(), 2u);
  EXPECT_EQ(drv->tunes[0].bandwidth, 100u * 1024 * 1024);
  EXPECT_EQ(drv->tunes[1].downtime_ms, 50u);
}

// -- the coordinator goes away ----------------------------------------------------------

TEST_F(source_job, coordinator_lost_before_perform_releases_the_domain) {
  ASSERT_TRUE(begin()->ok());
  kill(coord);
  EXPECT_EQ(drv->confirm_outcomes(), (outcomes{confirm_outcome::failed}));
  EXPECT_TRUE(drv->confirms[0].was_running);
  EXPECT_TRUE(log->has("drv.watch(off)"));
  EXPECT_TRUE(life->down);
}

TEST_F(source_job, coordinator_lost_during_perform_cancels_then_resumes) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  kill(coord);
  EXPECT_EQ(drv->cancels, 1u);
  EXPECT_TRUE(drv->confirms.empty()) << "resumed before the transfer ended";
  hypervisor("cancelled");
  EXPECT_EQ(drv->confirm_outcomes(), (outcomes{confirm_outcome::failed}));
  EXPECT_LT(log->index("drv.cancel"), log->index("drv.confirm(failed)"));
  EXPECT_TRUE(life->down);
}

TEST_F(source_job, coordinator_lost_during_perform_and_transfer_completes) {
  // The cancel came too late: the destination verified the data, so the
  // commit may happen. The source must find out, not resume.
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  kill(coord);
  hypervisor("completed");
  EXPECT_TRUE(drv->confirms.empty()) << log->str();
  advance_time(60s);
  EXPECT_TRUE(drv->confirms.empty()) << log->str();
  EXPECT_FALSE(life->down);
}

TEST_F(source_job, coordinator_lost_after_verified_data_keeps_it_paused) {
  verified();
  kill(coord);
  // Resolution asks the destination agent (ferry+tls://127.0.0.1:1, no
  // identity: every attempt fails at once) with back-off 1, 2, 4, 8, 16 s.
  for (int i = 0; i < 12; ++i)
    advance_time(16s);
  EXPECT_TRUE(drv->confirms.empty())
    << "the source decided on its own: " << log->str();
  EXPECT_FALSE(log->has("drv.resume")) << log->str();
  EXPECT_FALSE(life->down);
  auto info = control(job_verb::info);
  ASSERT_TRUE(info->ok());
  EXPECT_EQ(info->value->phase, mig_phase::outcome_unknown);
}

TEST_F(source_job, confirm_unknown_keeps_it_paused_and_resolves) {
  verified();
  auto c = confirm(confirm_outcome::unknown);
  ASSERT_TRUE(c->ok()) << error_text(c->error);
  EXPECT_EQ(drv->confirm_outcomes(), (outcomes{confirm_outcome::unknown}));
  kill(coord); // the coordinator reports and ends
  for (int i = 0; i < 12; ++i)
    advance_time(16s);
  EXPECT_EQ(drv->confirm_outcomes(), (outcomes{confirm_outcome::unknown}))
    << log->str();
  EXPECT_FALSE(life->down);
  auto info = control(job_verb::info);
  ASSERT_TRUE(info->ok());
  EXPECT_EQ(info->value->phase, mig_phase::outcome_unknown);
}

TEST_F(source_job, the_operator_assumes_a_failed_migration_and_the_guest_resumes) {
  verified();
  ASSERT_TRUE(confirm(confirm_outcome::unknown)->ok());
  auto bad = control(job_verb::recover, 7);
  EXPECT_EQ(code_of(bad->error), errc::invalid_argument);
  EXPECT_FALSE(life->down) << "a bad choice changed something";
  auto res = control(job_verb::recover, recover_assume_failed);
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_NE(res->value->error.find("assumed not committed by the operator"),
            std::string::npos)
    << res->value->error;
  EXPECT_EQ(drv->confirm_outcomes(),
            (outcomes{confirm_outcome::unknown, confirm_outcome::failed}));
  EXPECT_TRUE(life->down) << "the job did not end";
  // The automatic attempt that was scheduled finds the job settled.
  advance_time(16s);
  EXPECT_EQ(drv->confirm_outcomes().size(), 2u);
}

TEST_F(source_job, the_operator_assumes_a_commit_and_the_source_copy_goes) {
  verified();
  ASSERT_TRUE(confirm(confirm_outcome::unknown)->ok());
  auto res = control(job_verb::recover, recover_assume_committed);
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_NE(res->value->error.find("assumed committed by the operator"),
            std::string::npos)
    << res->value->error;
  EXPECT_EQ(drv->confirm_outcomes(),
            (outcomes{confirm_outcome::unknown, confirm_outcome::committed}));
  EXPECT_TRUE(life->down) << "the job did not end";
}

TEST_F(source_job, assume_is_refused_while_the_outcome_is_known) {
  verified();
  auto res = control(job_verb::recover, recover_assume_committed);
  EXPECT_EQ(code_of(res->error), errc::invalid_state);
  EXPECT_TRUE(drv->confirm_outcomes().empty());
}

// -- stale and duplicate messages ------------------------------------------------------

TEST_F(source_job, perform_for_another_job_is_refused) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform("ffffffffffffffffffffffffffffffff");
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::stale_message);
  EXPECT_TRUE(drv->starts.empty());
  // The right one still works.
  auto ok = perform();
  EXPECT_EQ(drv->starts.size(), 1u);
  EXPECT_FALSE(ok->arrived);
}

TEST_F(source_job, second_perform_is_refused) {
  ASSERT_TRUE(begin()->ok());
  auto first = perform();
  auto second = perform();
  ASSERT_TRUE(second->arrived);
  EXPECT_EQ(code_of(second->error), errc::stale_message);
  EXPECT_EQ(drv->starts.size(), 1u);
  EXPECT_FALSE(first->arrived);
  hypervisor("completed");
  EXPECT_TRUE(first->ok());
}

TEST_F(source_job, confirm_for_another_job_is_refused) {
  verified();
  auto c = confirm(confirm_outcome::committed,
                   "ffffffffffffffffffffffffffffffff");
  ASSERT_TRUE(c->arrived);
  EXPECT_EQ(code_of(c->error), errc::stale_message);
  EXPECT_TRUE(drv->confirms.empty());
  EXPECT_FALSE(life->down);
}

TEST_F(source_job, confirm_during_perform_is_refused) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  for (auto outcome : {confirm_outcome::committed, confirm_outcome::failed,
                       confirm_outcome::unknown}) {
    auto c = confirm(outcome);
    ASSERT_TRUE(c->arrived);
    EXPECT_EQ(code_of(c->error), errc::invalid_state) << outcome_name(outcome);
  }
  EXPECT_TRUE(drv->confirms.empty());
  EXPECT_FALSE(res->arrived);
}

TEST_F(source_job, committed_confirm_before_verified_data_is_refused) {
  ASSERT_TRUE(begin()->ok());
  auto c = confirm(confirm_outcome::committed);
  ASSERT_TRUE(c->arrived);
  EXPECT_EQ(code_of(c->error), errc::invalid_state);
  EXPECT_TRUE(drv->confirms.empty());
  // Nor after a failed transfer.
  auto res = perform();
  hypervisor("failed", "connection reset");
  ASSERT_TRUE(res->arrived);
  c = confirm(confirm_outcome::committed);
  ASSERT_TRUE(c->arrived);
  EXPECT_EQ(code_of(c->error), errc::invalid_state);
  EXPECT_TRUE(drv->confirms.empty());
  EXPECT_FALSE(life->down);
}

TEST_F(source_job, failed_confirm_before_perform_releases_the_domain) {
  // prepare failed on the destination.
  ASSERT_TRUE(begin()->ok());
  auto c = confirm(confirm_outcome::failed);
  ASSERT_TRUE(c->ok());
  EXPECT_EQ(drv->confirm_outcomes(), (outcomes{confirm_outcome::failed}));
  EXPECT_TRUE(life->down);
}

TEST_F(source_job, unexpected_messages_do_not_disturb_it) {
  ASSERT_TRUE(begin()->ok());
  auto odd = request<prepare_cookie>(job, mig_prepare{});
  send(job, make_error(errc::internal, "forged"));
  run();
  ASSERT_TRUE(odd->arrived);
  EXPECT_FALSE(odd->value);
  EXPECT_FALSE(life->down);
  auto res = perform();
  EXPECT_EQ(drv->starts.size(), 1u);
}

// -- lifecycle events ----------------------------------------------------------

TEST_F(source_job, committed_confirm_publishes_stopped_migrated) {
  verified();
  EXPECT_TRUE(published().empty());
  ASSERT_TRUE(confirm(confirm_outcome::committed)->ok());
  EXPECT_EQ(published(), (event_list{lifecycle_event::stopped_migrated}));
  auto& ev = events_box->get<domain_event>(0);
  EXPECT_EQ(ev.domain, "vm1");
  EXPECT_EQ(ev.job_id, job_id);
}

TEST_F(source_job, failed_transfer_publishes_failed_with_the_reason) {
  ASSERT_TRUE(begin()->ok());
  auto res = perform();
  hypervisor("failed", "migration stalled: 12 MiB left after 30 s");
  ASSERT_TRUE(confirm(confirm_outcome::failed)->ok());
  // Live and never paused: nothing to resume.
  EXPECT_EQ(published(), (event_list{lifecycle_event::failed}));
  EXPECT_NE(events_box->get<domain_event>(0).detail.find("stalled"),
            std::string::npos);
}

TEST_F(source_job, failure_after_the_pause_publishes_failed_and_resumed) {
  verified(); // the guest was paused for the switchover
  ASSERT_TRUE(confirm(confirm_outcome::failed)->ok());
  EXPECT_EQ(published(), (event_list{lifecycle_event::failed,
                                     lifecycle_event::resumed_migrated}));
}

TEST_F(source_job, unknown_outcome_publishes_suspended_once) {
  verified();
  ASSERT_TRUE(confirm(confirm_outcome::unknown)->ok());
  advance_time(1s); // a resolution attempt (fails: no identity)
  advance_time(2s);
  EXPECT_EQ(published(),
            (event_list{lifecycle_event::suspended_outcome_unknown}));
}
