// `ferry netcheck` between real agents: the tunnel's throughput through
// the stream pumps, every byte checked at the destination, and clear
// one-line errors that leave both agents as they were.

#include <chrono>
#include <future>
#include <thread>

#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

class netcheck : public cluster_test {
protected:
  void start_pair(bool tls, std::vector<std::string> dest_args = {}) {
    harness::node_options a;
    a.tls = tls;
    start_node("a", a);
    harness::node_options b;
    b.tls = tls;
    b.extra_args = std::move(dest_args);
    start_node("b", b);
  }

  /// Starts a 64 GiB check a -> b (still running when the test kills an
  /// agent) and returns once b is receiving.
  std::future<harness::cli_result> start_long_check() {
    auto run = std::async(std::launch::async, [this] {
      return on("a", {"netcheck", "--size", "65536", cl.at("b").uri()});
    });
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
      if (cl.at("b").log().find("receiving") != std::string::npos)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    return run;
  }

  /// SIGTERM to `victim` during a long check: it exits 0 within 5 s, and
  /// the CLI gets one error line.
  void expect_prompt_stop(const std::string& victim) {
    auto run = start_long_check();
    int status = cl.at(victim).stop(5000);
    EXPECT_TRUE(WIFEXITED(status)) << "needed SIGKILL: "
                                   << cl.at(victim).log_tail();
    EXPECT_EQ(WEXITSTATUS(status), 0);
    auto r = run.get();
    EXPECT_NE(r.rc, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }

  nlohmann::json check(unsigned mib) {
    auto out = ok("a", {"--json", "netcheck", "--size", std::to_string(mib),
                        cl.at("b").uri()});
    return nlohmann::json::parse(out, nullptr, false);
  }
};

} // namespace

TEST_F(netcheck, moves_and_checks_every_byte_over_mutual_tls) {
  start_pair(true);
  auto res = check(64);
  ASSERT_TRUE(res.is_object());
  EXPECT_EQ(res.value("bytes", 0.0), 64.0 * 1024 * 1024);
  EXPECT_TRUE(res.value("tls", false));
  EXPECT_EQ(res.value("peer", ""), "agent-b");
  EXPECT_GT(res.value("mibps", 0.0), 0.0);
  EXPECT_GT(res.value("elapsed_us", 0.0), 0.0);
  // The destination's log names the check, and its sink is gone after it:
  // the agent takes two more checks at once (its limit) right away.
  EXPECT_NE(cl.at("b").log().find("receiving 67108864 bytes"),
            std::string::npos)
    << cl.at("b").log_tail();
  auto first = std::async(std::launch::async, [&] { return check(32); });
  auto second = check(32);
  EXPECT_EQ(second.value("bytes", 0.0), 32.0 * 1024 * 1024);
  EXPECT_EQ(first.get().value("bytes", 0.0), 32.0 * 1024 * 1024);
  // The text form says what was measured.
  auto text = ok("a", {"netcheck", "--size", "8", cl.at("b").uri()});
  EXPECT_NE(text.find("8 MiB to 'agent-b'"), std::string::npos) << text;
  EXPECT_NE(text.find("mutual TLS"), std::string::npos) << text;
  EXPECT_NE(text.find("every byte received in order"), std::string::npos)
    << text;
}

TEST_F(netcheck, moves_and_checks_every_byte_over_plain_tcp) {
  start_pair(false);
  auto res = check(64);
  ASSERT_TRUE(res.is_object());
  EXPECT_EQ(res.value("bytes", 0.0), 64.0 * 1024 * 1024);
  EXPECT_FALSE(res.value("tls", true));
}

TEST_F(netcheck, bad_input_gets_one_line_and_changes_nothing) {
  start_pair(true, {"--acl", "admin=admin"}); // b: agent-a is no peer
  auto b = cl.at("b").uri();
  fails("a", {"netcheck", "--size", "0", b}, "--size must be from 1 to");
  fails("a", {"netcheck", "--size", "70000", b}, "--size must be from 1 to");
  fails("a", {"netcheck", "--size", "ten", b}, "netcheck");
  fails("a", {"netcheck", "nowhere"}, "nowhere");
  fails("a", {"netcheck", "ferry+tls://127.0.0.1:1/test"}, "cannot reach");
  auto denied = fails("a", {"netcheck", b}, "permission denied");
  EXPECT_NE(denied.find("'agent-a'"), std::string::npos) << denied;
  // Nothing was left behind on either agent: a domain still migrates.
  ok("a", {"define", xml_file("web", test_domain_xml("web", 16))});
  ok("a", {"start", "web"});
  EXPECT_EQ(state_of("a", "web"), "running");
}

TEST_F(netcheck, a_destination_that_dies_mid_check_is_reported_in_one_line) {
  start_pair(true);
  auto run = start_long_check();
  cl.at("b").kill();
  auto r = run.get();
  EXPECT_NE(r.rc, 0) << r.out;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("broke"), std::string::npos) << r.err;
  // The source agent freed its side: a restarted b is checked at once.
  ASSERT_EQ(cl.at("b").start(), "");
  EXPECT_EQ(check(16).value("bytes", 0.0), 16.0 * 1024 * 1024);
}

TEST_F(netcheck, a_source_that_dies_mid_check_leaves_nothing_on_the_destination) {
  start_pair(true);
  auto run = start_long_check();
  cl.at("a").kill();
  EXPECT_NE(run.get().rc, 0);
  for (int i = 0; i < 100; ++i) {
    if (cl.at("b").log().find("the tunnel broke") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  EXPECT_NE(cl.at("b").log().find("the tunnel broke"), std::string::npos)
    << cl.at("b").log_tail();
  // b's sink is gone: it takes its limit of two checks at once again.
  ASSERT_EQ(cl.at("a").start(), "");
  auto first = std::async(std::launch::async, [&] { return check(16); });
  EXPECT_EQ(check(16).value("bytes", 0.0), 16.0 * 1024 * 1024);
  EXPECT_EQ(first.get().value("bytes", 0.0), 16.0 * 1024 * 1024);
}

// Netchecks have no hypervisor whose end would close their streams: an
// agent being stopped must end them itself (it once waited forever).
TEST_F(netcheck, the_source_agent_stops_promptly_on_sigterm_mid_check) {
  start_pair(true);
  expect_prompt_stop("a");
}

TEST_F(netcheck, the_destination_agent_stops_promptly_on_sigterm_mid_check) {
  start_pair(true);
  expect_prompt_stop("b");
}
