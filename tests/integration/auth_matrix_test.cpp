// The seed's authentication matrix, against real agents: who must be
// allowed what on which host for each migration process (docs/migration.md,
// docs/security.md). Every refusal leaves the domain running where it was.

#include <string>
#include <vector>

#include "tests/integration/fixture.hpp"
#include "util/crypto.hpp"
#include "util/files.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

class auth_matrix : public cluster_test {
protected:
  /// Source a: `admin` and `ops` administer it, agents are peers.
  void start_source() {
    harness::node_options o;
    o.extra_args = {"--acl", "admin=admin", "--acl", "ops=admin",
                    "--acl", "agent-*=peer"};
    start_node("a", o);
    ok("a", {"define", xml_file("web", test_domain_xml("web", 32, 4, 8))});
    ok("a", {"start", "web"});
  }

  void start_dest(std::vector<std::string> acl,
                  std::string secret_file = {}) {
    harness::node_options o;
    o.extra_args = std::move(acl);
    o.secret_file = std::move(secret_file);
    start_node("b", o);
  }

  harness::cli_result migrate(std::vector<std::string> flags,
                              const std::string& cn,
                              const std::string& dest_uri) {
    std::vector<std::string> args{"migrate", "--live"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"web", dest_uri});
    return on("a", args, cn);
  }

  void expect_refused(const harness::cli_result& r,
                      const std::vector<std::string>& parts) {
    EXPECT_NE(r.rc, 0) << r.out;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    for (auto& p : parts)
      EXPECT_NE(r.err.find(p), std::string::npos)
        << "expected '" << p << "' in: " << r.err;
    EXPECT_EQ(state_of("a", "web"), "running");
    EXPECT_EQ(state_of("b", "web"), "absent");
  }
};

} // namespace

TEST_F(auth_matrix, managed_needs_the_client_to_administer_both_agents) {
  start_source();
  // ops administers a only; agent-a may migrate into b.
  start_dest({"--acl", "admin=admin", "--acl", "agent-*=peer"});
  expect_refused(migrate({}, "ops", cl.at("b").uri()),
                 {"permission denied", "'ops'"});
  // b's ACL does not name ops: it refuses the login itself, and says so.
  EXPECT_NE(cl.at("b").log().find("'ops' holds no role"), std::string::npos)
    << cl.at("b").log_tail(20);
  // The same client identity may do it peer-to-peer: its credentials never
  // travel to b; a's own identity does.
  auto r = migrate({"--p2p"}, "ops", cl.at("b").uri());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(state_of("b", "web"), "running");
  EXPECT_EQ(state_of("a", "web"), "shut off");
  EXPECT_NE(cl.at("b").log().find("'agent-a' connected"), std::string::npos)
    << cl.at("b").log_tail(30);
}

TEST_F(auth_matrix, p2p_needs_the_peer_role_for_the_source_agent) {
  start_source();
  // b trusts the admin client but not agent-a as a peer.
  start_dest({"--acl", "admin=admin"});
  expect_refused(migrate({"--p2p"}, "admin", cl.at("b").uri()),
                 {"permission denied", "'agent-a'"});
  expect_refused(migrate({"--p2p", "--tunnelled"}, "admin", cl.at("b").uri()),
                 {"permission denied", "'agent-a'"});
  // Managed: the client, which administers both, is the one b checks.
  auto r = migrate({}, "admin", cl.at("b").uri());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(state_of("b", "web"), "running");
}

TEST_F(auth_matrix, a_client_needs_admin_on_the_source_for_every_process) {
  start_source();
  start_dest({});
  for (auto flags : std::vector<std::vector<std::string>>{
         {}, {"--p2p"}, {"--p2p", "--tunnelled"}}) {
    // `stranger` holds a certificate from the CA but no role on a: it
    // does not even get a session (the ACL fails closed).
    expect_refused(migrate(flags, "stranger", cl.at("b").uri()),
                   {"permission denied: 'stranger' holds no role on agent"});
  }
  expect_refused(migrate({"--direct"}, "stranger",
                         cl.at("b").hypervisor_uri()),
                 {"permission denied: 'stranger' holds no role on agent"});
}

TEST_F(auth_matrix, direct_authenticates_the_hypervisors_by_their_secret) {
  start_source();
  auto other = cl.dir() + "/other.secret";
  ASSERT_FALSE(files::write_atomic(
    other, crypto::to_hex(crypto::random_bytes(32)), 0600));
  start_dest({}, other);
  expect_refused(migrate({"--direct"}, "admin", cl.at("b").hypervisor_uri()),
                 {"refused our shared secret"});
  EXPECT_NE(cl.at("b").log().find("bad shared secret"), std::string::npos)
    << cl.at("b").log_tail(30);
}
