// Migration across real agent processes on the test driver (issue: the four
// processes, live pre-copy, job control, ownership on failure).

#include <chrono>
#include <future>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.hpp"
#include "util/process.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

/// The migrate command line for a process, e.g. {"--p2p", "--tunnelled"}.
struct process_case {
  const char* name;
  std::vector<std::string> flags;
  bool direct = false;
};

const process_case processes[] = {
  {"managed", {}},
  {"p2p", {"--p2p"}},
  {"tunnelled", {"--p2p", "--tunnelled"}},
  {"direct", {"--direct"}, true},
};

/// The value of a `domjobinfo` line ("Key:   value"), or "" without one.
std::string field(const std::string& text, const std::string& key) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) {
      auto v = line.find_first_not_of(' ', key.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  return "";
}

} // namespace

class migration : public cluster_test {
protected:
  void SetUp() override {
    start_node("a");
    start_node("b");
  }

  /// Defines and starts a 256 MiB domain dirtying 32 MiB/s on `node`.
  void start_busy_domain(const std::string& node, const std::string& name,
                         unsigned mib = 256) {
    ok(node, {"define", xml_file(name, test_domain_xml(name, mib, 32, 64))});
    ok(node, {"start", name});
  }

  std::string dest_for(const process_case& pc, const std::string& node) {
    return pc.direct ? cl.at(node).hypervisor_uri() : cl.at(node).uri();
  }

  std::vector<std::string> migrate_args(const process_case& pc,
                                        const std::string& dom,
                                        const std::string& dest,
                                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"migrate", "--live"};
    args.insert(args.end(), pc.flags.begin(), pc.flags.end());
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(dom);
    args.push_back(dest_for(pc, dest));
    return args;
  }

  /// Waits until the job migrating `dom` from `node` is in its perform
  /// phase (the transfer runs).
  bool wait_perform(const std::string& node, const std::string& dom,
                    int timeout_ms = 5000) {
    for (int waited = 0; waited < timeout_ms; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      auto r = on(node, {"domjobinfo", dom});
      if (r.rc == 0 && field(r.out, "Phase") == "perform")
        return true;
    }
    return false;
  }

  /// Starts a busy `dom` on a and migrates it to b by `pc` in the
  /// background, at most `mibps` so that it is still transferring when
  /// this returns (once its perform phase runs).
  std::future<harness::cli_result>
  migrate_busy_in_background(const process_case& pc, const std::string& dom,
                             const std::string& mibps) {
    start_busy_domain("a", dom);
    auto mig = std::async(std::launch::async, [this, pc, dom, mibps] {
      return on("a", migrate_args(pc, dom, "b", {"--bandwidth", mibps}));
    });
    EXPECT_TRUE(wait_perform("a", dom));
    return mig;
  }

  /// Waits until `dom` on `node` is in `state` (direct migration reports
  /// to the destination agent asynchronously).
  bool wait_state(const std::string& node, const std::string& dom,
                  const std::string& state, int timeout_ms = 5000) {
    for (int waited = 0; waited < timeout_ms; waited += 50) {
      if (state_of(node, dom) == state)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return false;
  }
};

TEST_F(migration, every_process_moves_a_running_dirtying_domain) {
  for (auto& pc : processes) {
    SCOPED_TRACE(pc.name);
    auto dom = std::string{"busy-"} + pc.name;
    start_busy_domain("a", dom);
    auto out = ok("a", migrate_args(pc, dom, "b"));
    EXPECT_NE(out.find("digest verified"), std::string::npos) << out;
    EXPECT_NE(out.find(std::string{"("} + pc.name + ")"), std::string::npos)
      << out;
    EXPECT_TRUE(wait_state("b", dom, "running")) << state_of("b", dom);
    // Defined on the source, so it stays there, shut off.
    EXPECT_EQ(state_of("a", dom), "shut off");
    auto digest_b = ok("b", {"domdigest", dom});
    EXPECT_EQ(digest_b.size(), 65u + std::string{"  (running: snapshot)"}.size());
    ok("b", {"destroy", dom});
  }
}

TEST_F(migration, the_result_says_where_the_time_went) {
  for (auto& pc : processes) {
    SCOPED_TRACE(pc.name);
    auto dom = std::string{"timed-"} + pc.name;
    start_busy_domain("a", dom, 64);
    auto args = migrate_args(pc, dom, "b");
    args.insert(args.begin(), "--json");
    auto out = ok("a", args);
    auto res = nlohmann::json::parse(out, nullptr, false);
    ASSERT_TRUE(res.is_object()) << out;
    auto total = res.value("total_ms", uint64_t{0});
    auto& ph = res["phases_ms"];
    ASSERT_TRUE(ph.is_object()) << out;
    uint64_t sum = 0;
    for (auto name : {"connect", "begin", "prepare", "perform", "finish"})
      sum += ph.value(name, uint64_t{0});
    // total_ms ends where confirm starts; each phase is truncated to ms.
    EXPECT_LE(sum, total + 1) << out;
    EXPECT_GE(sum + 5, total) << out;
    EXPECT_GT(ph.value("perform", uint64_t{0}), 0u) << out;
    if (pc.direct) {
      EXPECT_EQ(ph.value("prepare", uint64_t{1}), 0u) << "direct has none";
    }
    EXPECT_TRUE(wait_state("b", dom, "running")) << state_of("b", dom);
    ok("b", {"destroy", dom});
  }
}

TEST_F(migration, suspended_copy_on_the_destination_is_bit_identical) {
  for (auto& pc : processes) {
    SCOPED_TRACE(pc.name);
    auto dom = std::string{"exact-"} + pc.name;
    start_busy_domain("a", dom);
    ok("a", {"suspend", dom});
    auto before = ok("a", {"domdigest", dom});
    ok("a", migrate_args(pc, dom, "b", {"--suspend"}));
    ASSERT_TRUE(wait_state("b", dom, "paused")) << state_of("b", dom);
    EXPECT_EQ(ok("b", {"domdigest", dom}), before);
    ok("b", {"destroy", dom});
  }
}

TEST_F(migration, a_running_source_matches_the_destination_at_switchover) {
  // Live: the destination holds the source's RAM as of the pause.
  start_busy_domain("a", "live1");
  ok("a", {"migrate", "--live", "--suspend", "live1", cl.at("b").uri()});
  auto d1 = ok("b", {"domdigest", "live1"});
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  EXPECT_EQ(ok("b", {"domdigest", "live1"}), d1) << "paused copy changed";
  ok("b", {"resume", "live1"});
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  EXPECT_NE(ok("b", {"domdigest", "live1"}), d1) << "workload did not move";
}

TEST_F(migration, flag_rules_are_enforced_before_anything_moves) {
  start_busy_domain("a", "rules", 16);
  fails("a", {"migrate", "--tunnelled", "rules", cl.at("b").uri()},
        "--tunnelled requires --p2p");
  fails("a", {"migrate", "--p2p", "--tunnelled", "rules", cl.at("b").uri(),
              "tcp://127.0.0.1:5000"},
        "cannot be used with --tunnelled");
  fails("a", {"migrate", "--direct", "rules", cl.at("b").uri()},
        "--direct needs a hypervisor URI");
  fails("a", {"migrate", "rules", cl.at("b").hypervisor_uri()},
        "add --direct");
  fails("a", {"migrate", "--tls", "--p2p", "--tunnelled", "rules",
              cl.at("b").uri()},
        "--tls encrypts the hypervisors' own connection");
  fails("a", {"migrate", "--dname", "bad name", "rules", cl.at("b").uri()},
        "--dname");
  fails("a", {"migrate", "nope", cl.at("b").uri()}, "not found");
  EXPECT_EQ(state_of("a", "rules"), "running");
  EXPECT_EQ(state_of("b", "rules"), "absent");
}

TEST_F(migration, persistent_undefinesource_and_dname) {
  start_busy_domain("a", "mover", 16);
  ok("a", {"migrate", "--live", "--p2p", "--persistent", "--undefinesource",
           "--dname", "moved", "mover", cl.at("b").uri()});
  EXPECT_EQ(state_of("a", "mover"), "absent");
  EXPECT_EQ(state_of("b", "moved"), "running");
  ok("b", {"destroy", "moved"});
  EXPECT_EQ(state_of("b", "moved"), "shut off") << "not defined persistently";
}

TEST_F(migration, transient_without_persistent_vanishes_when_destroyed) {
  start_busy_domain("a", "transient", 16);
  ok("a", {"migrate", "--live", "--undefinesource", "transient",
           cl.at("b").uri()});
  EXPECT_EQ(state_of("a", "transient"), "absent");
  EXPECT_EQ(state_of("b", "transient"), "running");
  ok("b", {"destroy", "transient"});
  EXPECT_EQ(state_of("b", "transient"), "absent");
}

TEST_F(migration, explicit_migrate_uri_sets_the_data_address) {
  start_busy_domain("a", "addr", 32);
  ok("a", {"migrate", "--live", "addr", cl.at("b").uri(), "tcp://127.0.0.1"});
  EXPECT_EQ(state_of("b", "addr"), "running");
  EXPECT_EQ(state_of("a", "addr"), "shut off");
}

TEST_F(migration, abort_mid_transfer_leaves_it_running_on_the_source) {
  for (auto& pc : processes) {
    SCOPED_TRACE(pc.name);
    auto dom = std::string{"abort-"} + pc.name;
    start_busy_domain("a", dom);
    auto mig = std::async(std::launch::async, [&] {
      return on("a", migrate_args(pc, dom, "b", {"--bandwidth", "16"}));
    });
    // Wait until the transfer runs, then abort it.
    bool aborted = false;
    for (int i = 0; i < 100 && !aborted; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      auto info = on("a", {"domjobinfo", dom});
      if (info.rc == 0 && info.out.find("Phase:              perform")
                            != std::string::npos) {
        auto r = on("a", {"domjobabort", dom});
        aborted = r.rc == 0;
      }
    }
    ASSERT_TRUE(aborted);
    auto res = mig.get();
    EXPECT_NE(res.rc, 0);
    EXPECT_NE(res.err.find("aborted"), std::string::npos) << res.err;
    EXPECT_EQ(state_of("a", dom), "running");
    // Direct: the destination agent learns from its hypervisor.
    EXPECT_TRUE(wait_state("b", dom, "absent")) << state_of("b", dom);
    auto last = on("a", {"domjobinfo", "--completed", dom});
    EXPECT_EQ(last.rc, 0) << last.err;
    EXPECT_EQ(field(last.out, "Result"), "failed") << last.out;
  }
}

TEST_F(migration, job_control_reports_and_tunes_a_running_job) {
  start_busy_domain("a", "tune");
  fails("a", {"domjobinfo", "--completed", "tune"},
        "no finished migration job");
  auto mig = std::async(std::launch::async, [&] {
    return on("a", {"migrate", "--live", "--p2p", "--tunnelled",
                    "--bandwidth", "32", "tune", cl.at("b").uri()});
  });
  // 256 MiB at 32 MiB/s: the first pass takes 8 s; sample it.
  std::string info;
  std::vector<nlohmann::json> first_pass;
  for (int i = 0; i < 200 && first_pass.size() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    auto r = on("a", {"--json", "domjobinfo", "tune"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    // Samples of the pass under way only: in "setup" the hypervisor has
    // not counted the pass's pages yet and reports nothing remaining.
    if (r.rc != 0 || !j.is_object() || j.value("phase", "") != "perform"
        || j.value("hypervisor_status", "") != "active")
      continue;
    if (j.value("iteration", uint64_t{99}) != 0)
      break; // this slow a machine: the first pass is over
    first_pass.push_back(j);
    if (info.empty())
      info = ok("a", {"domjobinfo", "tune"});
  }
  ASSERT_GE(first_pass.size(), 2u);
  EXPECT_EQ(field(info, "Mode"), "tunnelled") << info;
  EXPECT_EQ(field(info, "Role"), "source") << info;
  EXPECT_EQ(field(info, "Iteration"), "0") << info;
  EXPECT_NE(field(info, "Memory bandwidth"), "") << info;
  EXPECT_NE(field(info, "Dirty rate"), "") << info;
  auto& early = first_pass.front();
  auto& late = first_pass.back();
  auto total = uint64_t{256} << 20;
  EXPECT_EQ(late.value("data_total", uint64_t{0}), total) << late;
  EXPECT_GT(late.value("data_processed", uint64_t{0}),
            early.value("data_processed", uint64_t{0}))
    << early << "\n" << late;
  EXPECT_LT(late.value("data_remaining", total),
            early.value("data_remaining", uint64_t{0}))
    << early << "\n" << late;
  // Running figures of the first pass, not the 0 of "no pass ended yet".
  EXPECT_GT(late.value("mibps", 0.0), 0.0) << late;
  EXPECT_LT(late.value("mibps", 0.0), 256.0) << late; // limited to 32
  EXPECT_GT(late.value("dirty_rate_mibps", 0.0), 0.0) << late;
  ok("a", {"migrate-setmaxdowntime", "tune", "500"});
  ok("a", {"migrate-setspeed", "tune", "0"}); // unlimited: finish now
  auto res = mig.get();
  EXPECT_EQ(res.rc, 0) << res.err;
  EXPECT_EQ(state_of("b", "tune"), "running");
  fails("a", {"domjobinfo", "tune"}, "no migration job");
  // The finished job: its total time and final downtime.
  auto done = ok("a", {"domjobinfo", "--completed", "tune"});
  EXPECT_EQ(field(done, "Result"), "completed") << done;
  EXPECT_EQ(field(done, "Phase"), "done") << done;
  EXPECT_NE(field(done, "Time total"), "") << done;
  EXPECT_NE(field(done, "Downtime"), "") << done;
  auto j = nlohmann::json::parse(
    ok("a", {"--json", "domjobinfo", "--completed", "tune"}), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.value("mode", ""), "tunnelled") << j;
  EXPECT_GT(j.value("downtime_ms", uint64_t{0}), 0u) << j;
  EXPECT_GE(j.value("elapsed_ms", uint64_t{0}),
            j.value("downtime_ms", uint64_t{0}) + 1000) << j;
  EXPECT_GE(j.value("data_processed", uint64_t{0}), total) << j;
  EXPECT_EQ(j.value("data_remaining", uint64_t{1}), 0u) << j;
  EXPECT_EQ(j.value("error", "?"), "") << j;
}

TEST_F(migration, the_client_may_disconnect_and_a_p2p_migration_goes_on) {
  start_busy_domain("a", "detached");
  process::spawn_request req;
  req.argv = {cl.tools() + "/ferry", "-c", cl.at("a").uri(), "migrate",
              "--live", "--p2p", "--bandwidth", "16", "detached",
              cl.at("b").uri()};
  req.env.push_back("FERRY_PKI_DIR=" + cl.client_pki("admin"));
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  req.stdout_fd = devnull;
  req.stderr_fd = devnull;
  std::string why;
  auto pid = process::spawn(req, why);
  ::close(devnull);
  ASSERT_GT(pid, 0) << why;
  bool transferring = false;
  for (int i = 0; i < 200 && !transferring; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    auto r = on("a", {"domjobinfo", "detached"});
    transferring = r.rc == 0 && field(r.out, "Phase") == "perform";
  }
  if (!transferring)
    process::kill_child(pid, SIGKILL);
  ASSERT_TRUE(transferring);
  process::kill_child(pid, SIGKILL);
  ASSERT_TRUE(process::wait_exit(pid, 5000));
  // Without its client the job goes on (16 MiB/s: 16 s for the first pass).
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  auto info = on("a", {"domjobinfo", "detached"});
  ASSERT_EQ(info.rc, 0) << info.err;
  EXPECT_EQ(field(info.out, "Phase"), "perform") << info.out;
  ok("a", {"migrate-setspeed", "detached", "0"});
  EXPECT_TRUE(wait_state("b", "detached", "running", 30000))
    << state_of("b", "detached");
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = on("a", {"domjobinfo", "detached"}).rc != 0;
    if (!gone)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  EXPECT_TRUE(gone) << "the job never ended on the source";
  EXPECT_EQ(state_of("a", "detached"), "shut off") << "defined: stays, off";
  EXPECT_EQ(state_of("b", "detached"), "running");
  auto done = ok("a", {"domjobinfo", "--completed", "detached"});
  EXPECT_EQ(field(done, "Result"), "completed") << done;
  EXPECT_EQ(field(done, "Mode"), "p2p") << done;
}

TEST_F(migration, verbose_progress_goes_to_stderr_and_the_result_to_stdout) {
  start_busy_domain("a", "chatty", 128);
  // 128 MiB at 64 MiB/s: two seconds and more of plain progress lines.
  auto r = on("a", {"--json", "migrate", "--live", "--verbose",
                    "--bandwidth", "64", "chatty", cl.at("b").uri()});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  auto res = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(res.is_object()) << r.out;
  EXPECT_EQ(res.value("domain", ""), "chatty") << r.out;
  // Piped: plain lines, no bar redrawn with carriage returns.
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
  std::istringstream in{r.err};
  int lines = 0;
  bool first_pass_moving = false;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    EXPECT_EQ(line.rfind("Migration: ", 0), 0u) << line;
    if (line.find("perform") != std::string::npos
        && line.find("pass 0") != std::string::npos
        && line.find(" 0.0 MiB/s  dirty") == std::string::npos)
      first_pass_moving = true;
  }
  EXPECT_GE(lines, 2) << r.err;
  EXPECT_TRUE(first_pass_moving) << r.err;
  EXPECT_EQ(state_of("b", "chatty"), "running");
}

TEST_F(migration, non_converging_migration_fails_cleanly_or_auto_converges) {
  // 8 MiB/s cannot keep up with 64 MiB/s of dirtying over 8 MiB.
  ok("a", {"define", xml_file("stall", test_domain_xml("stall", 8, 64, 8))});
  ok("a", {"start", "stall"});
  fails("a",
        {"migrate", "--live", "--bandwidth", "8", "--max-downtime", "10",
         "--progress-timeout", "1", "stall", cl.at("b").uri()},
        "not converging");
  EXPECT_EQ(state_of("a", "stall"), "running");
  EXPECT_EQ(state_of("b", "stall"), "absent");
  auto out = ok("a", {"migrate", "--live", "--p2p", "--bandwidth", "32",
                      "--max-downtime", "50", "--progress-timeout", "1",
                      "--auto-converge", "stall", cl.at("b").uri()});
  EXPECT_EQ(state_of("b", "stall"), "running");
}

TEST_F(migration, destination_agent_killed_mid_transfer_keeps_the_source) {
  for (auto& pc : processes) {
    if (pc.direct)
      continue;
    SCOPED_TRACE(pc.name);
    auto dom = std::string{"kill-"} + pc.name;
    auto mig = migrate_busy_in_background(pc, dom, "32");
    cl.at("b").kill();
    auto res = mig.get();
    EXPECT_NE(res.rc, 0);
    EXPECT_EQ(state_of("a", dom), "running") << res.err;
    ASSERT_EQ(cl.at("b").start(), "");
    EXPECT_NE(state_of("b", dom), "running");
  }
}

TEST_F(migration, lifecycle_is_refused_while_a_domain_migrates) {
  start_busy_domain("a", "locked");
  auto mig = std::async(std::launch::async, [&] {
    return on("a", {"migrate", "--live", "--bandwidth", "32", "locked",
                    cl.at("b").uri()});
  });
  EXPECT_TRUE(wait_perform("a", "locked"));
  fails("a", {"destroy", "locked"}, "is migrating");
  fails("a", {"undefine", "locked"}, "is migrating");
  fails("a", {"migrate", "--live", "locked", cl.at("b").uri()},
        "already migrating");
  ok("a", {"migrate-setspeed", "locked", "0"});
  EXPECT_EQ(mig.get().rc, 0);
}

namespace {

/// How many sessions `node` holds for `identity`, from ferry-shell's
/// `actors` listing ("  IDENTITY   driver …").
size_t sessions_of(harness::cluster& cl, const std::string& node,
                   const std::string& identity) {
  auto r = cl.tool("ferry-shell", {"-c", cl.at(node).uri()}, "actors\n");
  std::istringstream lines{r.out};
  size_t n = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("  " + identity + " ", 0) == 0)
      ++n;
  return n;
}

} // namespace

TEST_F(migration, p2p_jobs_share_one_session_and_a_restarted_peer_gets_a_new_one) {
  for (auto name : {"s1", "s2", "s3"}) {
    ok("a", {"define", xml_file(name, test_domain_xml(name, 4, 0, 0))});
    ok("a", {"start", name});
  }
  ok("a", {"migrate", "--live", "--p2p", "s1", cl.at("b").uri()});
  ok("a", {"migrate", "--live", "--p2p", "--tunnelled", "s2",
           cl.at("b").uri()});
  EXPECT_EQ(sessions_of(cl, "b", "agent-a"), 1u)
    << "the agent did not keep its session with b between jobs";
  // The pooled session dies with b; the next job must not be handed it.
  cl.at("b").kill();
  ASSERT_EQ(cl.at("b").start(), "");
  auto r = on("a", {"migrate", "--live", "--p2p", "s3", cl.at("b").uri()});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(state_of("b", "s3"), "running");
  EXPECT_EQ(sessions_of(cl, "b", "agent-a"), 1u);
}

TEST_F(migration, an_agent_that_ran_p2p_jobs_stops_promptly_on_sigterm) {
  // Its pooled session with the destination (peer_links) used to outlive
  // the job manager, and the actor system waited for it forever.
  for (auto flags : {std::vector<std::string>{"--p2p"},
                     std::vector<std::string>{"--p2p", "--tunnelled"}}) {
    auto dom = "stop" + std::to_string(flags.size());
    ok("a", {"define", xml_file(dom, test_domain_xml(dom, 16))});
    ok("a", {"start", dom});
    std::vector<std::string> args{"migrate"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {dom, cl.at("b").uri()});
    ok("a", args);
  }
  int status = cl.at("a").stop(5000);
  EXPECT_TRUE(WIFEXITED(status)) << "needed SIGKILL:\n"
                                 << cl.at("a").log_tail();
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(migration, a_source_agent_stopped_mid_transfer_exits_and_no_copy_runs_twice) {
  // A job waiting for a phase answer kept the actor system alive: SIGTERM
  // during any migration needed SIGKILL. Stopping is now what a crash is
  // for the job (the journal recovers it at the next start).
  for (auto& pc : processes) {
    if (pc.direct)
      continue;
    SCOPED_TRACE(pc.name);
    auto dom = std::string{"term-"} + pc.name;
    auto mig = migrate_busy_in_background(pc, dom, "16");
    int status = cl.at("a").stop(5000);
    EXPECT_TRUE(WIFEXITED(status)) << "needed SIGKILL:\n"
                                   << cl.at("a").log_tail();
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(mig.get().rc, 0);
    ASSERT_EQ(cl.at("a").start(), "");
    EXPECT_FALSE(state_of("a", dom) == "running"
                 && state_of("b", dom) == "running")
      << "two running copies";
    EXPECT_NE(state_of("b", dom), "running")
      << "the destination resumed a copy whose source stopped mid-transfer";
  }
}
