// Foundation: real ferryd processes on loopback, driven with the ferry CLI.

#include <chrono>
#include <thread>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/fixture.hpp"
#include "transport/pki.hpp"
#include "util/files.hpp"
#include "util/net.hpp"
#include "util/process.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

/// Runs ferryd with `args` (expecting it to refuse) and returns its output.
harness::cli_result run_ferryd(harness::cluster& cl,
                               std::vector<std::string> args) {
  auto out_path = cl.dir() + "/ferryd-refusal.log";
  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  process::spawn_request req;
  req.argv = {cl.tools() + "/ferryd"};
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  req.output_fd = fd;
  std::string err;
  auto pid = process::spawn(req, err);
  ::close(fd);
  harness::cli_result res;
  int status = 0;
  if (!process::wait_exit(pid, 10000, &status)) {
    process::kill_child(pid, SIGKILL);
    process::wait_exit(pid, 2000, &status);
    res.err = "ferryd kept running";
    return res;
  }
  res.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  res.err = *files::read(out_path);
  return res;
}

} // namespace

class foundation : public cluster_test {};

TEST_F(foundation, agent_refuses_to_start_without_tls_or_insecure_tcp) {
  auto r = run_ferryd(cl, {"--name", "x", "--state-dir", cl.dir() + "/x"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("ferryd: error: no TLS settings"), std::string::npos)
    << r.err;
}

TEST_F(foundation, agent_refuses_partial_or_broken_tls) {
  auto r = run_ferryd(cl, {"--state-dir", cl.dir() + "/x", "--tls-cert",
                           cl.ca_file()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("missing --tls-key, --tls-ca"), std::string::npos)
    << r.err;
  // A key that does not belong to the certificate.
  auto a = pki::issue(cl.ca(), "a");
  auto b = pki::issue(cl.ca(), "b");
  pki::write(a, cl.dir() + "/mixed", "a");
  pki::write(b, cl.dir() + "/mixed", "b");
  r = run_ferryd(cl, {"--state-dir", cl.dir() + "/x", "--tls-cert",
                      cl.dir() + "/mixed/a-cert.pem", "--tls-key",
                      cl.dir() + "/mixed/b-key.pem", "--tls-ca", cl.ca_file()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("does not match the certificate"), std::string::npos)
    << r.err;
  // An expired certificate.
  auto old = pki::issue(cl.ca(), "old", 1, -10);
  pki::write(old, cl.dir() + "/mixed", "old");
  r = run_ferryd(cl, {"--state-dir", cl.dir() + "/x", "--tls-cert",
                      cl.dir() + "/mixed/old-cert.pem", "--tls-key",
                      cl.dir() + "/mixed/old-key.pem", "--tls-ca",
                      cl.ca_file()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("expired"), std::string::npos) << r.err;
}

TEST_F(foundation, lifecycle_over_mutual_tls) {
  start_node("a");
  start_node("b");
  auto xml = xml_file("web1", test_domain_xml("web1", 64, 16, 8));
  ok("a", {"define", xml});
  EXPECT_EQ(state_of("a", "web1"), "shut off");
  EXPECT_EQ(ok("a", {"list"}).find("web1"), std::string::npos);
  ok("a", {"start", "web1"});
  EXPECT_EQ(state_of("a", "web1"), "running");
  EXPECT_NE(ok("a", {"list"}).find("web1"), std::string::npos);
  auto info = ok("a", {"dominfo", "web1"});
  EXPECT_NE(info.find("65536 KiB"), std::string::npos) << info;
  EXPECT_NE(info.find("Persistent:     yes"), std::string::npos) << info;
  ok("a", {"suspend", "web1"});
  EXPECT_EQ(state_of("a", "web1"), "paused");
  auto d1 = ok("a", {"domdigest", "web1"});
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  EXPECT_EQ(ok("a", {"domdigest", "web1"}), d1) << "a paused guest changed";
  EXPECT_EQ(d1.size(), 65u) << d1;
  ok("a", {"resume", "web1"});
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  EXPECT_NE(ok("a", {"domdigest", "web1"}), d1) << "workload did not write";
  auto dumped = ok("a", {"dumpxml", "web1"});
  EXPECT_NE(dumped.find("<name>web1</name>"), std::string::npos);
  ok("a", {"destroy", "web1"});
  EXPECT_EQ(state_of("a", "web1"), "shut off");
  ok("a", {"undefine", "web1"});
  EXPECT_EQ(state_of("a", "web1"), "absent");
  EXPECT_EQ(state_of("b", "web1"), "absent");
  auto node = ok("b", {"nodeinfo"});
  EXPECT_NE(node.find(cl.at("b").hypervisor_uri()), std::string::npos)
    << node;
}

TEST_F(foundation, definitions_persist_and_running_state_dies_with_agent) {
  auto& a = start_node("a");
  ok("a", {"define", xml_file("keep", test_domain_xml("keep", 16))});
  ok("a", {"start", "keep"});
  EXPECT_EQ(a.stop(), 0) << a.log_tail(30);
  ASSERT_EQ(a.start(), "");
  EXPECT_EQ(state_of("a", "keep"), "shut off");
  ok("a", {"start", "keep"});
  EXPECT_EQ(state_of("a", "keep"), "running");
}

TEST_F(foundation, bad_input_gets_one_line_errors_and_changes_nothing) {
  start_node("a");
  ok("a", {"define", xml_file("good", test_domain_xml("good", 16))});
  auto before = ok("a", {"--json", "list", "--all"});
  // URIs.
  auto r = cl.cli({"-c", "ferry+tls://127.0.0.1:99999/test", "list"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("port must be"), std::string::npos) << r.err;
  r = cl.cli({"-c", "http://x/test", "list"});
  EXPECT_NE(r.err.find("unknown scheme 'http'"), std::string::npos) << r.err;
  // XML.
  fails("a", {"define", xml_file("bad1", "this is not xml")}, "invalid domain XML");
  fails("a", {"define", xml_file("bad2", "<domain type='test'><memory>1024"
                                         "</memory></domain>")},
        "missing <name>");
  fails("a", {"define", xml_file("bad3", "<domain type='test'><name>n</name>"
                                         "<memory>-1</memory></domain>")},
        "non-negative");
  fails("a", {"define", xml_file("bad4", "<domain type='test'><name>n</name>"
                                         "<memory>1024</memory><disk/>"
                                         "</domain>")},
        "unsupported element <disk>");
  fails("a", {"define", cl.dir() + "/missing.xml"}, "cannot open");
  // Flags and verbs.
  fails("a", {"list", "--everything"}, "unrecognised option");
  fails("a", {"start"}, "missing DOM");
  fails("a", {"frobnicate"}, "unknown command");
  // Unknown domain, duplicate name, wrong state.
  fails("a", {"start", "nope"}, "domain 'nope' not found");
  fails("a", {"define", xml_file("dup", test_domain_xml("good", 32))},
        "already exists with another UUID");
  fails("a", {"suspend", "good"}, "not running");
  EXPECT_EQ(ok("a", {"--json", "list", "--all"}), before);
}

TEST_F(foundation, untrusted_clients_are_refused_and_agent_keeps_serving) {
  start_node("a");
  // A certificate from another CA.
  auto other_ca = pki::make_ca("other-ca");
  auto other = pki::issue(other_ca, "mallory");
  auto odir = cl.dir() + "/mallory";
  pki::write(other, odir, "client");
  files::write_atomic(odir + "/ca-cert.pem", other_ca.cert_pem);
  auto r = cl.cli({"-c", cl.at("a").uri(), "--tls-cert",
                   odir + "/client-cert.pem", "--tls-key",
                   odir + "/client-key.pem", "--tls-ca", odir + "/ca-cert.pem",
                   "list"},
                  "");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("closed the connection during the handshake"),
            std::string::npos)
    << r.err;
  // No certificate at all.
  r = cl.cli({"-c", cl.at("a").uri(), "list"}, "");
  EXPECT_NE(r.rc, 0);
  // Plain TCP to a TLS agent.
  r = cl.cli({"-c", "ferry+tcp://127.0.0.1:" + std::to_string(cl.at("a")
                                                                 .options()
                                                                 .port)
                      + "/test",
              "list"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("error: "), std::string::npos);
  // Garbage and a truncated handshake on the agent's port.
  std::vector<std::string> junks{std::string(4096, 'x'),
                                 std::string("\x16\x03\x01", 3), ""};
  for (auto& junk : junks) {
    std::string err;
    int fd = net::tcp_connect({"127.0.0.1", cl.at("a").options().port}, 2000,
                              err);
    ASSERT_GE(fd, 0) << err;
    if (!junk.empty()) {
      ASSERT_GT(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), 0);
    }
    ::close(fd);
  }
  ok("a", {"list"});
  EXPECT_TRUE(cl.at("a").running());
}

TEST_F(foundation, acl_roles_limit_what_an_identity_may_do) {
  harness::node_options opts;
  opts.extra_args = {"--acl", "admin=admin", "--acl", "viewer-*=read"};
  start_node("a", opts);
  ok("a", {"define", xml_file("v", test_domain_xml("v", 16))});
  auto r = on("a", {"list", "--all"}, "viewer-1");
  EXPECT_EQ(r.rc, 0) << r.err;
  fails("a", {"start", "v"}, "permission denied: 'viewer-1' may not start",
        "viewer-1");
  // A name no rule matches gets no session at all (fail closed).
  fails("a", {"list"}, "'stranger' holds no role on agent 'a'", "stranger");
  EXPECT_NE(cl.at("a").log().find("denied start domains to 'viewer-1'"),
            std::string::npos);
  EXPECT_EQ(state_of("a", "v"), "shut off");
}

TEST_F(foundation, a_dead_agent_gives_a_clear_error_not_a_hang) {
  auto& a = start_node("a");
  ok("a", {"list"});
  a.kill();
  auto t0 = std::chrono::steady_clock::now();
  fails("a", {"list"}, "cannot connect to agent");
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - t0)
                .count();
  RecordProperty("dead_agent_error_seconds", std::to_string(secs));
  // "About a second, never a hang": a refused connection must not wait for
  // the 5 s connect timeout (the bound leaves room for a loaded machine).
  EXPECT_LT(secs, 3.0);
}

TEST_F(foundation, a_frozen_agent_gives_a_timeout_error) {
  auto& a = start_node("a");
  a.freeze();
  fails("a", {"list"}, "no answer from agent");
  a.thaw();
  ok("a", {"list"});
}

TEST_F(foundation, sigterm_and_sigint_stop_the_agent_and_its_hypervisor) {
  auto& a = start_node("a");
  ok("a", {"define", xml_file("s", test_domain_xml("s", 16))});
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    ok("a", {"start", "s"});
    auto t0 = std::chrono::steady_clock::now();
    // The contract is "cleanly within a second": stop() sends SIGKILL after
    // the timeout, and then the exit status is not 0.
    EXPECT_EQ(a.stop(1000, sig), 0) << a.log_tail(30);
    auto secs = std::chrono::duration<double>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
    RecordProperty(sig == SIGTERM ? "sigterm_seconds" : "sigint_seconds",
                   std::to_string(secs));
    // The log file is appended to across restarts: count, not find.
    auto log = a.log();
    auto lines = [&log](const std::string& text) {
      size_t n = 0;
      for (auto at = log.find(text); at != std::string::npos;
           at = log.find(text, at + 1))
        ++n;
      return n;
    };
    size_t stops = sig == SIGTERM ? 1 : 2;
    EXPECT_EQ(lines("ferryd: stopped"), stops);
    EXPECT_EQ(lines("stopping all guests"), stops);
    if (sig == SIGTERM) {
      ASSERT_EQ(a.start(), "");
    }
  }
}
