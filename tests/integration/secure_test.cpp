// --secure and --tls against real agents on the test driver: with
// certificates every process's data path is encrypted and --secure lets it
// run; on --insecure-tcp agents --secure refuses each process with one
// line naming the plain hop, and nothing moves (docs/security.md).

#include <chrono>
#include <thread>

#include "tests/integration/fixture.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

class secure : public cluster_test {
protected:
  void start_pair(bool tls) {
    harness::node_options o;
    o.tls = tls;
    start_node("a", o);
    start_node("b", o);
  }

  void start_domain(const std::string& dom) {
    ok("a", {"define", xml_file(dom, test_domain_xml(dom, 64, 16, 16))});
    ok("a", {"start", dom});
  }

  std::vector<std::string> migrate(std::vector<std::string> flags,
                                   const std::string& dom, bool direct) {
    std::vector<std::string> args{"migrate", "--live"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(dom);
    args.push_back(direct ? cl.at("b").hypervisor_uri() : cl.at("b").uri());
    return args;
  }

  bool wait_state(const std::string& node, const std::string& dom,
                  const std::string& state) {
    for (int waited = 0; waited < 5000; waited += 50) {
      if (state_of(node, dom) == state)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return false;
  }
};

struct secure_case {
  const char* name;
  std::vector<std::string> flags;
  bool direct;
};

const secure_case cases[] = {
  {"managed", {"--secure"}, false},
  {"p2p", {"--secure", "--p2p"}, false},
  {"managed-tls", {"--secure", "--tls"}, false},
  {"p2p-tls", {"--secure", "--tls", "--p2p"}, false},
  {"tunnelled", {"--secure", "--p2p", "--tunnelled"}, false},
  {"direct", {"--secure", "--direct"}, true},
  {"direct-tls", {"--secure", "--tls", "--direct"}, true},
};

} // namespace

TEST_F(secure, every_process_runs_with_secure_between_tls_agents) {
  start_pair(true);
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto dom = std::string{"sec-"} + c.name;
    start_domain(dom);
    auto out = ok("a", migrate(c.flags, dom, c.direct));
    EXPECT_NE(out.find("digest verified"), std::string::npos) << out;
    EXPECT_TRUE(wait_state("b", dom, "running")) << state_of("b", dom);
    EXPECT_EQ(state_of("a", dom), "shut off");
    ok("b", {"destroy", dom});
  }
  // The hypervisors said they use TLS, and the native jobs ran over it.
  EXPECT_NE(cl.at("a").log().find("data over mutual TLS"), std::string::npos)
    << cl.at("a").log_tail(40);
  EXPECT_NE(cl.at("a").log().find("(p2p, data over TLS)"), std::string::npos)
    << cl.at("a").log_tail(40);
  EXPECT_NE(cl.at("a").log().find("(managed, data over TLS)"),
            std::string::npos);
}

TEST_F(secure, insecure_agents_refuse_secure_naming_the_hop) {
  start_pair(false);
  start_domain("plain");
  const std::pair<secure_case, const char*> refusals[] = {
    {cases[0], "native hypervisor-to-hypervisor data path"},
    {cases[1], "native hypervisor-to-hypervisor data path"},
    {cases[4], "agent-to-agent link (plain TCP) carrying the tunnel"},
    {cases[5], "hypervisor-to-hypervisor channel of direct migration"},
  };
  for (auto& [c, hop] : refusals) {
    SCOPED_TRACE(c.name);
    auto line = fails("a", migrate(c.flags, "plain", c.direct),
                      std::string{"--secure: refusing to migrate because the "}
                        + hop + " is not encrypted");
    if (!c.direct && c.flags.size() < 3) {
      EXPECT_NE(line.find("--insecure-tcp"), std::string::npos) << line;
    }
    EXPECT_EQ(state_of("a", "plain"), "running");
    EXPECT_EQ(state_of("b", "plain"), "absent");
  }
  // --tls cannot be honoured without certificates either.
  fails("a", migrate({"--tls"}, "plain", false),
        "--tls: this agent's test hypervisor has no TLS certificates");
  fails("a", migrate({"--tls", "--direct"}, "plain", true),
        "--tls: this agent's test hypervisor has no TLS certificates");
  // Without --secure the plain data path is allowed.
  auto out = ok("a", migrate({"--p2p"}, "plain", false));
  EXPECT_NE(out.find("digest verified"), std::string::npos) << out;
}

TEST_F(secure, tls_with_tunnelled_is_refused_in_one_line) {
  start_pair(true);
  start_domain("tun");
  fails("a", migrate({"--tls", "--p2p", "--tunnelled"}, "tun", false),
        "--tls encrypts the hypervisors' own connection");
  EXPECT_EQ(state_of("a", "tun"), "running");
}
