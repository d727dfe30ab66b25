// The qemu driver with real QEMU (TCG) and ferry's test guest: lifecycle,
// native and tunnelled migration, digests, failures. These tests FAIL when
// QEMU or the guest kernel is missing: CI installs qemu-system-x86 and nasm.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <future>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/qemu_fixture.hpp"
#include "util/files.hpp"

using namespace ferry;
using namespace ferry::test;
using json = nlohmann::json;


TEST_F(qemu, lifecycle_and_an_exiting_qemu_marks_the_domain_shut_off) {
  start_guest("a", "life", 64, 8);
  EXPECT_EQ(state("a", "life"), "running");
  qok("a", {"suspend", "life"});
  EXPECT_EQ(state("a", "life"), "paused");
  auto d1 = qok("a", {"domdigest", "life"});
  EXPECT_EQ(qok("a", {"domdigest", "life"}), d1) << "paused RAM changed";
  EXPECT_EQ(d1.find("snapshot"), std::string::npos) << d1;
  qok("a", {"resume", "life"});
  auto snap = qok("a", {"domdigest", "life"});
  EXPECT_NE(snap.find("(running: snapshot)"), std::string::npos) << snap;
  EXPECT_NE(snap.substr(0, 64), d1.substr(0, 64)) << "the guest did not run";
  EXPECT_EQ(state("a", "life"), "running") << "digest must resume the guest";
  qok("a", {"destroy", "life"});
  EXPECT_EQ(state("a", "life"), "shut off");
  // QEMU dying on its own: the reaper reports it, the domain is shut off.
  qok("a", {"start", "life"});
  auto pid = qemu_pid("a", "life");
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(wait_state("a", "life", "shut off")) << state("a", "life");
  qok("a", {"start", "life"});
  qok("a", {"destroy", "life"});
}

TEST_F(qemu, native_and_tunnelled_migrations_move_a_dirtying_guest) {
  const std::pair<const char*, std::vector<std::string>> modes[] = {
    {"managed", {}}, {"p2p", {"--p2p"}}, {"tunnelled", {"--p2p", "--tunnelled"}}};
  for (auto& [mode, flags] : modes) {
    SCOPED_TRACE(mode);
    auto dom = std::string{"mig-"} + mode;
    start_guest("a", dom);
    auto res = migrate(dom, flags);
    EXPECT_EQ(res.value("mode", ""), mode);
    // QEMU's stream carries no end-to-end digest: nothing was compared.
    EXPECT_EQ(res.value("digest_verified", true), false) << res;
    // 256 MiB of written RAM moved (zero RAM would be a few MiB).
    EXPECT_GE(res.value("bytes", uint64_t{0}), uint64_t{250} << 20) << res;
    std::cout << "[ qemu     ] " << mode << ": 256 MiB in "
              << res.value("total_ms", 0) << " ms, downtime "
              << res.value("downtime_ms", 0) << " ms, "
              << res.value("bytes", uint64_t{0}) / (1024 * 1024) << " MiB sent"
              << std::endl;
    EXPECT_EQ(state("b", dom), "running");
    EXPECT_EQ(state("a", dom), "shut off"); // defined there, so it stays
    EXPECT_EQ(qemu_pid("a", dom), -1) << "the source QEMU was not quit";
    qok("b", {"destroy", dom});
  }
}

TEST_F(qemu, suspended_guest_arrives_with_the_same_digest) {
  const std::pair<const char*, std::vector<std::string>> modes[] = {
    {"managed", {}}, {"tunnelled", {"--p2p", "--tunnelled"}}};
  for (auto& [mode, flags] : modes) {
    SCOPED_TRACE(mode);
    auto dom = std::string{"exact-"} + mode;
    start_guest("a", dom);
    qok("a", {"suspend", dom});
    auto t0 = std::chrono::steady_clock::now();
    auto before = qok("a", {"domdigest", dom});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
    std::cout << "[ qemu     ] domdigest of a paused 256 MiB guest: " << ms
              << " ms (CLI round trip included)" << std::endl;
    auto suspend = flags;
    suspend.push_back("--suspend");
    migrate(dom, suspend);
    EXPECT_EQ(state("b", dom), "paused");
    EXPECT_EQ(qok("b", {"domdigest", dom}), before);
    qok("b", {"resume", dom});
    EXPECT_EQ(state("b", dom), "running");
    qok("b", {"destroy", dom});
  }
}

TEST_F(qemu, killing_the_destination_qemu_keeps_the_guest_on_the_source) {
  const std::pair<const char*, std::vector<std::string>> modes[] = {
    {"p2p", {"--p2p"}}, {"tunnelled", {"--p2p", "--tunnelled"}}};
  for (auto& [mode, flags] : modes) {
    SCOPED_TRACE(mode);
    auto dom = std::string{"kill-"} + mode;
    start_guest("a", dom);
    auto args = flags;
    args.insert(args.end(), {"--bandwidth", "16"}); // ~16 s for 256 MiB
    auto mig = std::async(std::launch::async, [&, args] {
      std::vector<std::string> a{"migrate", "--live"};
      a.insert(a.end(), args.begin(), args.end());
      a.insert(a.end(), {dom, uri("b")});
      return q("a", a);
    });
    // Wait until data flows, then kill the destination's QEMU.
    bool flowing = false;
    for (int i = 0; i < 400 && !flowing; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      auto info = json::parse(q("a", {"--json", "domjobinfo", dom}).out,
                              nullptr, false);
      flowing = info.is_object() && info.value("data_processed", 0) > 0;
    }
    ASSERT_TRUE(flowing);
    auto pid = qemu_pid("b", dom);
    ASSERT_GT(pid, 0);
    ::kill(pid, SIGKILL);
    auto res = mig.get();
    EXPECT_NE(res.rc, 0) << res.out;
    EXPECT_EQ(res.err.rfind("error: ", 0), 0u) << res.err;
    EXPECT_EQ(state("a", dom), "running") << res.err;
    EXPECT_EQ(state("b", dom), "absent");
    qok("a", {"destroy", dom});
  }
}

TEST_F(qemu, a_stall_raises_the_downtime_limit_until_the_guest_switches_over) {
  // 8 MiB/s against a guest rewriting 8 MiB: each pass leaves ~8 MiB, which
  // needs ~1 s of downtime. From 100 ms the stall policy doubles the limit
  // (200, 400, 800, 1600 ms) until QEMU can switch over.
  start_guest("a", "raise", 32, 8);
  auto out = qok("a", {"migrate", "--live", "--p2p", "--bandwidth", "8",
                       "--max-downtime", "100", "--progress-timeout", "1",
                       "raise", uri("b")});
  // QEMU's stream has no end-to-end digest, and the CLI says so.
  EXPECT_EQ(out.find("digest verified"), std::string::npos) << out;
  EXPECT_NE(out.find("no end-to-end digest"), std::string::npos) << out;
  std::cout << "[ qemu     ] " << out << std::flush;
  auto log = cl.at("a").log();
  EXPECT_NE(log.find("stall step 1: downtime limit 100 -> 200 ms"),
            std::string::npos)
    << cl.at("a").log_tail(30);
  EXPECT_EQ(log.find("stopped converging"), std::string::npos);
  EXPECT_EQ(state("b", "raise"), "running");
  EXPECT_EQ(state("a", "raise"), "shut off");
  qok("b", {"destroy", "raise"});
}

TEST_F(qemu, a_stall_beyond_the_downtime_cap_is_cancelled_with_a_clear_error) {
  // 8 MiB/s cannot keep up with a guest rewriting 24 MiB all the time: it
  // would need ~3 s of downtime, above the policy's 2 s cap.
  start_guest("a", "stall", 32, 24);
  auto err = qfails("a",
                    {"migrate", "--live", "--p2p", "--bandwidth", "8",
                     "--progress-timeout", "1", "stall", uri("b")},
                    "stopped converging");
  EXPECT_NE(err.find("downtime limit raised to 2000 ms"), std::string::npos)
    << err;
  std::cout << "[ qemu     ] " << err << std::flush;
  auto log = cl.at("a").log();
  for (auto step : {"300 -> 600 ms", "600 -> 1200 ms", "1200 -> 2000 ms"})
    EXPECT_NE(log.find(step), std::string::npos) << step;
  EXPECT_EQ(state("a", "stall"), "running");
  EXPECT_EQ(state("b", "stall"), "absent");
  qok("a", {"destroy", "stall"});
}

TEST_F(qemu, auto_converge_throttles_a_guest_that_would_stall_until_it_moves) {
  // A guest paced by CPU work to 40 MiB/s over a 56 MiB window, sent at
  // 16 MiB/s: each pass leaves more than the last, up to the window, which
  // even the policy's 2 s downtime cap (32 MiB) cannot take, so without
  // --auto-converge the job is cancelled. With it QEMU throttles the vCPU
  // (30%, then +20% per two passes that dirty more than half of what they
  // send): at 70% the guest dirties 12 MiB/s, less than is sent, and the
  // remaining RAM shrinks until it fits the downtime.
  start_guest("a", "conv", 64, 56, 40);
  std::vector<std::string> args{"migrate", "--live",          "--p2p",
                                "--bandwidth", "16", "--progress-timeout",
                                "1",          "conv",          uri("b")};
  auto err = qfails("a", args, "stopped converging");
  std::cout << "[ qemu     ] without --auto-converge: " << err << std::flush;
  ASSERT_EQ(state("a", "conv"), "running");
  ASSERT_EQ(state("b", "conv"), "absent");

  args.insert(args.begin() + 3, "--auto-converge");
  auto out = qok("a", args);
  std::cout << "[ qemu     ] " << out << std::flush;
  auto log = cl.at("a").log();
  EXPECT_NE(log.find("by auto-converge"), std::string::npos)
    << cl.at("a").log_tail(30);
  EXPECT_EQ(state("b", "conv"), "running");
  EXPECT_EQ(state("a", "conv"), "shut off");
  qok("b", {"destroy", "conv"});
}

TEST_F(qemu, direct_migration_is_refused_and_the_guest_stays) {
  start_guest("a", "nodirect", 32, 8);
  qfails("a", {"migrate", "--direct", "nodirect", "testhv://127.0.0.1:1"},
         "QEMU has no hypervisor-managed migration");
  EXPECT_EQ(state("a", "nodirect"), "running");
  qok("a", {"destroy", "nodirect"});
}

TEST_F(qemu, bad_definitions_get_clear_errors) {
  qfails("a",
         {"define", xml_file("nokernel",
                             "<domain type='qemu'><name>nk</name><memory "
                             "unit='MiB'>64</memory><os><kernel>/nonexistent/"
                             "vmlinuz</kernel></os></domain>")},
         "kernel file '/nonexistent/vmlinuz' does not exist");
  qfails("a",
         {"define", xml_file("wrongtype", test_domain_xml("wt", 64))},
         "the qemu driver runs <domain type='qemu'> (TCG) or 'kvm', not "
         "'test'");
  // type='kvm' on a host without a usable /dev/kvm (CI has none): defined,
  // and start says why it cannot run and what to do instead.
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    qok("a", {"define", xml_file("kvm",
                                 "<domain type='kvm'><name>kv</name><memory "
                                 "unit='MiB'>64</memory></domain>")});
    qfails("a", {"start", "kv"}, "is type='kvm' but /dev/kvm is not usable");
    EXPECT_EQ(state("a", "kv"), "shut off");
  }
  // A disk whose file is missing: refused before QEMU starts.
  qok("a", {"define", xml_file("nodisk",
                               "<domain type='qemu'><name>nd</name><memory "
                               "unit='MiB'>64</memory><devices><disk "
                               "type='file'><source file='/nonexistent/d.img'/>"
                               "<target dev='vda'/></disk></devices>"
                               "</domain>")});
  qfails("a", {"start", "nd"}, "disk vda '/nonexistent/d.img' is not readable");
  EXPECT_EQ(state("a", "nd"), "shut off");
  // A kernel QEMU cannot boot: QEMU's own complaint reaches the user.
  auto junk = cl.dir() + "/junk.bin";
  ASSERT_FALSE(files::write_atomic(junk, "not a kernel"));
  qok("a", {"define", xml_file("junk",
                               "<domain type='qemu'><name>junk</name><memory "
                               "unit='MiB'>64</memory><os><kernel>"
                                 + junk + "</kernel></os></domain>")});
  qfails("a", {"start", "junk"}, "exited during start");
  EXPECT_EQ(state("a", "junk"), "shut off");
}

TEST_F(qemu, a_restarted_agent_reattaches_to_its_running_guest) {
  start_guest("a", "stay", 32, 8);
  auto pid = qemu_pid("a", "stay");
  cl.at("a").kill(); // a crash: QEMU keeps running
  ASSERT_EQ(cl.at("a").start(), "");
  EXPECT_EQ(state("a", "stay"), "running");
  EXPECT_EQ(qemu_pid("a", "stay"), pid);
  qok("a", {"suspend", "stay"});
  qok("a", {"destroy", "stay"});
  EXPECT_EQ(state("a", "stay"), "shut off");
  EXPECT_EQ(qemu_pid("a", "stay"), -1);
}

TEST_F(qemu, tls_secure_migrations_run_over_qemus_own_tls) {
  // Each agent gave its QEMUs a credentials directory from its own files.
  auto dir = cl.at("a").options().state_dir + "/qemu/tls";
  for (auto file : {"ca-cert.pem", "server-cert.pem", "client-cert.pem"})
    EXPECT_TRUE(files::read(dir + "/" + file)) << file;
  struct stat st{};
  ASSERT_EQ(::stat((dir + "/client-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::pair<const char*, std::vector<std::string>> modes[] = {
    {"managed", {"--tls", "--secure"}}, {"p2p", {"--tls", "--secure", "--p2p"}}};
  for (auto& [mode, flags] : modes) {
    SCOPED_TRACE(mode);
    auto dom = std::string{"tls-"} + mode;
    start_guest("a", dom);
    auto res = migrate(dom, flags);
    EXPECT_EQ(res.value("mode", ""), mode);
    EXPECT_GE(res.value("bytes", uint64_t{0}), uint64_t{250} << 20) << res;
    std::cout << "[ qemu     ] " << mode << " --tls: 256 MiB in "
              << res.value("total_ms", 0) << " ms, downtime "
              << res.value("downtime_ms", 0) << " ms" << std::endl;
    EXPECT_EQ(state("b", dom), "running");
    EXPECT_EQ(state("a", dom), "shut off");
    qok("b", {"destroy", dom});
  }
  // QEMU was told to expect b's certificate, and did TLS (a plain and a
  // TLS end cannot complete a QEMU migration).
  EXPECT_NE(cl.at("a").log().find("over QEMU's TLS (peer 'agent-b')"),
            std::string::npos)
    << cl.at("a").log_tail(30);
  // A paused guest arrives bit-identical over TLS.
  start_guest("a", "tls-exact");
  qok("a", {"suspend", "tls-exact"});
  auto before = qok("a", {"domdigest", "tls-exact"});
  migrate("tls-exact", {"--tls", "--secure", "--p2p", "--suspend"});
  EXPECT_EQ(state("b", "tls-exact"), "paused");
  EXPECT_EQ(qok("b", {"domdigest", "tls-exact"}), before);
  qok("b", {"destroy", "tls-exact"});
}

TEST_F(qemu, secure_refuses_qemus_native_path_without_tls) {
  start_guest("a", "plain", 64, 8);
  for (auto flags : std::vector<std::vector<std::string>>{
         {"--secure"}, {"--secure", "--p2p"}}) {
    auto args = std::vector<std::string>{"migrate", "--live"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"plain", uri("b")});
    qfails("a", args,
           "--secure: refusing to migrate because the native "
           "hypervisor-to-hypervisor data path is not encrypted and "
           "authenticated (QEMU sends in plain TCP without --tls");
    EXPECT_EQ(state("a", "plain"), "running");
    EXPECT_EQ(state("b", "plain"), "absent");
  }
  qfails("a", {"migrate", "--tls", "--p2p", "--tunnelled", "plain", uri("b")},
         "--tls encrypts the hypervisors' own connection");
  qfails("a", {"migrate", "--tls", "--direct", "plain", "testhv://127.0.0.1:1"},
         "--direct");
  // Tunnelled over ferry+tls qualifies without --tls.
  auto res = migrate("plain", {"--secure", "--p2p", "--tunnelled"});
  EXPECT_EQ(res.value("mode", ""), "tunnelled");
  EXPECT_EQ(state("b", "plain"), "running");
}

// A guest keeps its machine type when it moves: a destination whose QEMU
// lacks it refuses in prepare, before the source is touched.
TEST_F(qemu, a_destination_without_the_guests_machine_type_refuses_it) {
  start_guest("a", "older", 64, 8);
  auto xml = qok("a", {"dumpxml", "older"});
  auto at = xml.find("machine=\"");
  ASSERT_NE(at, std::string::npos) << "no machine type recorded:\n" << xml;
  auto machine = xml.substr(at + 9, xml.find('"', at + 9) - at - 9);
  // Host c's QEMU: the same binary, but it does not list that machine.
  auto wrapper = cl.dir() + "/older-qemu";
  ASSERT_FALSE(files::write_atomic(
    wrapper, "#!/bin/sh\nif [ \"$1 $2\" = \"-machine help\" ]; then\n"
             "  qemu-system-x86_64 -machine help | grep -v '" + machine
               + "'\n  exit 0\nfi\nexec qemu-system-x86_64 \"$@\"\n"));
  ASSERT_EQ(::chmod(wrapper.c_str(), 0755), 0);
  harness::node_options opts;
  opts.drivers = {"qemu"};
  opts.extra_args = {"--qemu-binary", wrapper};
  start_node("c", opts);
  auto r = q("a", {"migrate", "--live", "--p2p", "older",
                   cl.at("c").uri("qemu")});
  EXPECT_NE(r.rc, 0) << r.out;
  EXPECT_NE(r.err.find("does not offer machine type '" + machine + "'"),
            std::string::npos)
    << r.err;
  EXPECT_EQ(state("a", "older"), "running");
  EXPECT_EQ(state("c", "older"), "absent");
  qok("a", {"destroy", "older"});
}
