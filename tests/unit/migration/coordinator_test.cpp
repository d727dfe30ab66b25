#include "migration/coordinator.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/peer_session.hpp"
#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"
#include "tests/unit/actors/fakes.hpp"
#include "tests/unit/migration/coordinator_fixture.hpp"

using namespace ferry;
using namespace ferry_test;
using namespace std::chrono_literals;


TEST(job_id, carries_its_creation_time_and_stays_unique) {
  using namespace std::chrono;
  auto before = duration_cast<milliseconds>(
                  system_clock::now().time_since_epoch()).count();
  auto a = new_job_id();
  auto b = new_job_id();
  auto after = duration_cast<milliseconds>(
                 system_clock::now().time_since_epoch()).count();
  EXPECT_TRUE(valid_job_id(a)) << a;
  EXPECT_NE(a, b);
  auto t = static_cast<int64_t>(job_id_time_ms(a));
  EXPECT_GE(t, before);
  EXPECT_LE(t, after);
  EXPECT_EQ(job_id_time_ms("not a job id"), 0u);
  EXPECT_EQ(job_id_time_ms("00000000000a" + std::string(20, 'f')), 10u);
}

TEST_F(coordinator, happy_path_runs_the_phases_in_order) {
  start();
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(success)", "source.confirm(committed)"}));
  auto res = success();
  EXPECT_EQ(res.job_id, job_id);
  EXPECT_EQ(res.domain, "vm1");
  EXPECT_EQ(res.mode, "managed");
  EXPECT_TRUE(res.digest_verified);
  EXPECT_EQ(res.downtime_ms, 250u) << "downtime = resumed_at - paused_at";
  EXPECT_EQ(res.bytes, 64u * 1024 * 1024);
  EXPECT_TRUE(res.warning.empty()) << res.warning;
  EXPECT_TRUE(coord_life->down) << "the coordinator ends with its job";
  // What travelled between the phases.
  ASSERT_EQ(src->begins.size(), 1u);
  EXPECT_EQ(src->begins[0].job_id, job_id);
  EXPECT_EQ(src->begins[0].domain, "vm1");
  EXPECT_EQ(src->begins[0].coordinator, coord);
  EXPECT_EQ(src->begins[0].driver, "test");
  ASSERT_EQ(dst->prepares.size(), 1u);
  EXPECT_EQ(dst->prepares[0].job_id, job_id);
  EXPECT_EQ(dst->prepares[0].xml, src->begin.value.xml);
  EXPECT_EQ(dst->prepares[0].source_agent, "agent-a");
  EXPECT_EQ(dst->prepares[0].coordinator, coord);
  ASSERT_EQ(src->performs.size(), 1u);
  EXPECT_EQ(src->performs[0].job_id, job_id);
  EXPECT_EQ(src->performs[0].cookie.data_port, 4711);
  EXPECT_EQ(src->performs[0].cookie.token, "one-time-token");
  ASSERT_EQ(dst->finishes.size(), 1u);
  EXPECT_EQ(dst->finishes[0].job_id, job_id);
  ASSERT_EQ(src->confirms.size(), 1u);
  EXPECT_EQ(src->confirms[0].job_id, job_id);
}

TEST_F(coordinator, leaves_no_monitor_behind_on_its_entries) {
  // A monitor left on a long-lived entry (the job manager, in p2p) holds a
  // weak reference that keeps the ended coordinator's memory allocated:
  // ~2.5 KiB per migration in ferry-stress's soak. Such a monitor goes only
  // with the entry; so the entries' end must release no weak reference.
  start();
  success();
  ASSERT_TRUE(coord_life->down);
  caf::actor_addr addr = coord.address();
  coord = nullptr;
  run();
  auto* ctrl = caf::actor_cast<caf::actor_control_block*>(addr);
  auto before = ctrl->weak_refs.load();
  caf::anon_send_exit(src_entry, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(dst_entry, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(ctrl->weak_refs.load(), before)
    << "a monitor on an entry still named the ended coordinator";
}

TEST_F(coordinator, result_names_the_domain_by_its_destination_name) {
  auto a = args();
  a.flags.dname = "vm1-new";
  start(std::move(a));
  EXPECT_EQ(success().domain, "vm1-new");
  ASSERT_EQ(src->begins.size(), 1u);
  EXPECT_EQ(src->begins[0].flags.dname, "vm1-new");
}

TEST_F(coordinator, begin_fails_and_nothing_else_is_called) {
  src->begin.fail(make_error(errc::invalid_state, "domain vm1 is not running"));
  start();
  EXPECT_EQ(log->lines(), (lines{"source.begin"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::invalid_state);
  EXPECT_NE(error_text(err).find("begin failed"), std::string::npos)
    << error_text(err);
  EXPECT_NE(error_text(err).find("not running"), std::string::npos);
  EXPECT_TRUE(coord_life->down);
}

TEST_F(coordinator, begin_times_out_on_the_test_clock) {
  src->begin.hold();
  start();
  EXPECT_FALSE(reported());
  advance_time(999ms);
  EXPECT_FALSE(reported()) << "fired before the begin timeout";
  advance_time(1ms);
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::migration_failed);
  EXPECT_NE(error_text(err).find("begin failed"), std::string::npos)
    << error_text(err);
  EXPECT_EQ(log->lines(), (lines{"source.begin"}));
}

TEST_F(coordinator, begin_without_a_job_fails_cleanly) {
  src->begin.value.source_job = source_participant{};
  start();
  EXPECT_EQ(log->lines(), (lines{"source.begin"}));
  EXPECT_EQ(code_of(failure()), errc::migration_failed);
}

TEST_F(coordinator, prepare_fails_and_the_source_is_released) {
  dst->prepare.fail(make_error(errc::domain_exists, "vm1 already exists"));
  start();
  EXPECT_EQ(log->lines(), (lines{"source.begin", "dest.prepare",
                                 "source.confirm(failed)"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::domain_exists);
  EXPECT_NE(error_text(err).find("prepare failed"), std::string::npos)
    << error_text(err);
}

TEST_F(coordinator, prepare_times_out_and_the_source_is_released) {
  dst->prepare.hold();
  start();
  advance_time(2s);
  EXPECT_EQ(log->lines(), (lines{"source.begin", "dest.prepare",
                                 "source.confirm(failed)"}));
  EXPECT_EQ(code_of(failure()), errc::migration_failed);
}

TEST_F(coordinator, destination_entry_lost_during_prepare_releases_the_source) {
  dst->prepare.hold();
  start();
  kill(dst_entry);
  EXPECT_EQ(log->lines(), (lines{"source.begin", "dest.prepare",
                                 "source.confirm(failed)"}));
  EXPECT_EQ(code_of(failure()), errc::migration_failed);
}

TEST_F(coordinator, the_result_says_no_digest_when_the_driver_compared_none) {
  // QEMU: the stream carries no end-to-end digest.
  job_stats ps;
  ps.data_processed = 64 * 1024 * 1024;
  ps.digest_verified = false;
  src->perform.give(ps);
  start();
  EXPECT_FALSE(success().digest_verified);
}

TEST_F(coordinator, perform_fails_tears_down_the_destination_then_resumes) {
  src->perform.fail(make_error(errc::migration_failed,
                               "migration stalled: 12 MiB left"));
  start();
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(failure)", "source.confirm(failed)"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::migration_failed);
  EXPECT_NE(error_text(err).find("perform failed"), std::string::npos)
    << error_text(err);
  EXPECT_NE(error_text(err).find("stalled"), std::string::npos);
}

TEST_F(coordinator, perform_fails_and_a_refused_teardown_still_resumes) {
  src->perform.fail(make_error(errc::migration_aborted, "aborted"));
  dst->finish_failure.fail(make_error(errc::hypervisor_error, "no such job"));
  start();
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(failure)", "source.confirm(failed)"}));
  EXPECT_EQ(code_of(failure()), errc::migration_aborted);
}

TEST_F(coordinator, finish_refused_resumes_the_source) {
  dst->finish_success.fail(make_error(errc::migration_failed,
                                      "digest mismatch"));
  start();
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(success)", "source.confirm(failed)"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::migration_failed);
  EXPECT_NE(error_text(err).find("finish failed"), std::string::npos)
    << error_text(err);
  EXPECT_NE(error_text(err).find("digest mismatch"), std::string::npos);
}

TEST_F(coordinator, finish_timeout_leaves_the_outcome_unknown) {
  dst->finish_success.hold();
  start();
  EXPECT_FALSE(reported());
  advance_time(4999ms);
  EXPECT_FALSE(reported());
  EXPECT_FALSE(log->has("source.confirm(unknown)"));
  advance_time(1ms);
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(success)", "source.confirm(unknown)"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::outcome_unknown) << error_text(err);
  EXPECT_NE(error_text(err).find("paused"), std::string::npos)
    << error_text(err);
}

TEST_F(coordinator, destination_job_lost_during_finish_leaves_outcome_unknown) {
  dst->finish_success.hold();
  start();
  kill(dst_job);
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(success)", "source.confirm(unknown)"}));
  EXPECT_EQ(code_of(failure()), errc::outcome_unknown);
}

TEST_F(coordinator, destination_job_lost_during_perform_resumes_the_source) {
  // Nothing can have been committed: the source resumes, and nobody asks
  // the dead job to tear down.
  src->perform.hold();
  src->confirm.hold();
  start();
  kill(dst_job);
  // Loss during perform: the source is told to resume right away.
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "source.confirm(failed)"}));
  EXPECT_FALSE(log->has("dest.finish(failure)")) << "asked a dead job";
}

TEST_F(coordinator, source_job_lost_during_perform_tears_down_at_once) {
  src->perform.hold();
  start();
  EXPECT_EQ(log->lines().back(), "source.perform");
  kill(src_job);
  // No clock movement: the monitor, not a timeout, ends the phase.
  EXPECT_EQ(log->lines(), (lines{"source.begin", "dest.prepare",
                                 "source.perform", "dest.finish(failure)"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::migration_failed);
  EXPECT_NE(error_text(err).find("source agent's job went away"),
            std::string::npos)
    << error_text(err);
}

TEST_F(coordinator, confirm_failure_after_commit_is_a_success_with_warning) {
  src->confirm.fail(make_error(errc::hypervisor_error,
                               "cannot destroy the source copy"));
  start();
  EXPECT_EQ(log->lines().back(), "source.confirm(committed)");
  auto res = success();
  EXPECT_EQ(res.downtime_ms, 250u);
  EXPECT_NE(res.warning.find("could not confirm"), std::string::npos)
    << res.warning;
  EXPECT_NE(res.warning.find("cannot destroy"), std::string::npos)
    << res.warning;
}

TEST_F(coordinator, source_job_lost_during_confirm_is_a_success_with_warning) {
  src->confirm.hold();
  start();
  EXPECT_FALSE(reported());
  kill(src_job);
  auto res = success();
  EXPECT_NE(res.warning.find("could not confirm"), std::string::npos)
    << res.warning;
}

TEST_F(coordinator, confirm_timeout_after_commit_is_a_success_with_warning) {
  src->confirm.hold();
  start();
  advance_time(5s);
  auto res = success();
  EXPECT_NE(res.warning.find("could not confirm"), std::string::npos)
    << res.warning;
}

TEST_F(coordinator, direct_mode_skips_prepare_and_finish) {
  auto a = args();
  a.flags = migration_flags{};
  a.flags.direct = true;
  a.flags.live = true;
  a.flags.dest_uri = "testhv://10.0.0.2:7001";
  a.dest_entry = caf::actor{};
  start(std::move(a));
  EXPECT_EQ(log->lines(), (lines{"source.begin", "source.perform",
                                 "source.confirm(committed)"}));
  auto res = success();
  EXPECT_EQ(res.mode, "direct");
  EXPECT_EQ(res.downtime_ms, hv_downtime)
    << "without finish, the hypervisor's own measure";
  ASSERT_EQ(src->performs.size(), 1u);
  EXPECT_FALSE(src->performs[0].cookie.dest_job);
}

TEST_F(coordinator, direct_mode_perform_failure_resumes_the_source) {
  auto a = args();
  a.flags = migration_flags{};
  a.flags.direct = true;
  a.flags.dest_uri = "testhv://10.0.0.2:7001";
  a.dest_entry = caf::actor{};
  src->perform.fail(make_error(errc::auth_failed, "wrong shared secret"));
  start(std::move(a));
  EXPECT_EQ(log->lines(), (lines{"source.begin", "source.perform",
                                 "source.confirm(failed)"}));
  EXPECT_EQ(code_of(failure()), errc::auth_failed);
}

TEST_F(coordinator, late_perform_answer_after_its_timeout_is_ignored) {
  src->perform.hold();
  dst->finish_failure.hold();
  start();
  advance_time(60s);
  EXPECT_EQ(log->lines().back(), "dest.finish(failure)");
  // The transfer "completes" after all: too late, the job failed.
  release(src_job, src->perform, src->perform.value);
  EXPECT_FALSE(log->has("dest.finish(success)")) << log->str();
  release(dst_job, dst->finish_failure, finish_cookie{});
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(failure)", "source.confirm(failed)"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::migration_failed);
  EXPECT_NE(error_text(err).find("perform failed"), std::string::npos);
}

TEST_F(coordinator, late_finish_answer_after_its_timeout_is_ignored) {
  dst->finish_success.hold();
  src->confirm.hold();
  start();
  advance_time(5s);
  EXPECT_EQ(log->lines().back(), "source.confirm(unknown)");
  // The commit answer arrives after the coordinator gave up on it: the
  // source was told "unknown" and resolves that itself.
  release(dst_job, dst->finish_success, dst->finish_success.value);
  EXPECT_FALSE(log->has("source.confirm(committed)")) << log->str();
  EXPECT_FALSE(reported());
  release(src_job, src->confirm, true);
  EXPECT_EQ(code_of(failure()), errc::outcome_unknown);
  EXPECT_EQ(src->confirms.size(), 1u);
}

TEST_F(coordinator, late_perform_answer_after_the_destination_died_is_ignored) {
  src->perform.hold();
  src->confirm.hold();
  start();
  kill(dst_job);
  EXPECT_EQ(log->lines().back(), "source.confirm(failed)");
  release(src_job, src->perform, src->perform.value);
  EXPECT_EQ(log->count("dest.finish(success)"), 0u) << log->str();
  EXPECT_EQ(log->lines().back(), "source.confirm(failed)");
  release(src_job, src->confirm, true);
  auto err = failure();
  EXPECT_NE(error_text(err).find("destination agent's job went away"),
            std::string::npos)
    << error_text(err);
}

TEST_F(coordinator, job_info_reports_the_current_phase) {
  src->perform.hold();
  start();
  auto info = request<job_stats>(coord, job_control{job_verb::info, "vm1"});
  run();
  ASSERT_TRUE(info->ok()) << error_text(info->error);
  EXPECT_EQ(info->value->phase, mig_phase::perform);
  EXPECT_EQ(info->value->role, "coordinator");
  EXPECT_EQ(info->value->job_id, job_id);
}

TEST_F(coordinator, source_entry_lost_during_begin_fails_and_calls_nothing_else) {
  src->begin.hold();
  start();
  kill(src_entry);
  EXPECT_EQ(log->lines(), (lines{"source.begin"}));
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::migration_failed) << error_text(err);
  EXPECT_TRUE(coord_life->down);
}

TEST_F(coordinator, prepare_without_a_job_releases_the_source) {
  dst->prepare.value.dest_job = dest_participant{};
  start();
  EXPECT_EQ(log->lines(), (lines{"source.begin", "dest.prepare",
                                 "source.confirm(failed)"}));
  EXPECT_EQ(code_of(failure()), errc::migration_failed);
}

TEST_F(coordinator, finish_failing_inside_the_destination_leaves_the_outcome_unknown) {
  // An internal error may come from after the commit: never resume then.
  dst->finish_success.fail(make_error(errc::internal, "driver crashed"));
  start();
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(success)", "source.confirm(unknown)"}));
  EXPECT_EQ(code_of(failure()), errc::outcome_unknown);
}

namespace {

/// The source agent's session pool (peer_links): hands out `session`, or
/// fails like an unreachable destination.
caf::behavior fake_pool(caf::event_based_actor*, caf::actor session,
                        bool reachable) {
  return {
    [session, reachable](get_peer_session&) -> caf::result<peer_session> {
      if (!reachable)
        return make_error(errc::disconnected,
                          "cannot connect to agent at 10.0.0.2:16509");
      peer_session s;
      s.session = caf::actor_cast<session_remote>(session);
      s.agent_name = "agent-b";
      return s;
    },
  };
}

} // namespace

TEST_F(coordinator, p2p_takes_the_destination_session_from_the_agents_pool) {
  auto a = args();
  a.dest_entry = caf::actor{};
  a.peer_links = spawn(fake_pool, dst_entry, true);
  start(std::move(a));
  EXPECT_EQ(log->lines(),
            (lines{"source.begin", "dest.prepare", "source.perform",
                   "dest.finish(success)", "source.confirm(committed)"}));
  success();
}

TEST_F(coordinator, p2p_unreachable_destination_fails_before_begin) {
  auto a = args();
  a.dest_entry = caf::actor{};
  a.peer_links = spawn(fake_pool, caf::actor{}, false);
  start(std::move(a));
  EXPECT_TRUE(log->lines().empty()) << "nothing may be asked of the source";
  auto err = failure();
  EXPECT_EQ(code_of(err), errc::migration_failed);
  EXPECT_NE(error_text(err).find("cannot reach the destination agent"),
            std::string::npos)
    << error_text(err);
}
