// Every command of the CLI against every kind of identity: an admin, a
// reader, a peer agent, a name the ACL does not know, and a certificate
// from another CA (docs/security.md, "Roles").

#include "tests/security/fixture.hpp"
#include "transport/pki.hpp"
#include "util/files.hpp"

using namespace ferry;
using namespace ferry::attack;

namespace {

enum class needs { read, admin };

struct command {
  std::vector<std::string> args;
  needs role;
};

/// What an identity gets for a command.
enum class outcome {
  allowed,  ///< Done, or refused for a reason other than who asks.
  denied,   ///< permission denied: NAME may not …
  no_role,  ///< The ACL names it nowhere: no session at all.
  foreign,  ///< Its certificate is not from the agent's CA.
};

const char* to_string(outcome o) {
  switch (o) {
    case outcome::allowed: return "allowed";
    case outcome::denied: return "denied";
    case outcome::no_role: return "no role";
    case outcome::foreign: return "foreign";
  }
  return "?";
}

outcome classify(const harness::cli_result& r, const std::string& cn) {
  if (r.err.find("holds no role") != std::string::npos)
    return outcome::no_role;
  if (r.err.find("permission denied: '" + cn + "' may not")
      != std::string::npos)
    return outcome::denied;
  if (r.err.find("does not accept our certificate") != std::string::npos
      || r.err.find("closed the connection during the handshake")
           != std::string::npos)
    return outcome::foreign;
  return outcome::allowed;
}

} // namespace

TEST_F(attack_test, every_command_for_every_kind_of_identity) {
  start_target();
  auto xml = xml_file("extra", test::test_domain_xml("extra", 16));
  auto nowhere = std::string{"ferry+tls://127.0.0.1:1/test"};
  std::vector<command> commands{
    {{"list", "--all"}, needs::read},
    {{"dominfo", "web"}, needs::read},
    {{"dumpxml", "web"}, needs::read},
    {{"domdigest", "web"}, needs::read},
    {{"nodeinfo"}, needs::read},
    {{"domjobinfo", "web"}, needs::read},
    {{"domjobinfo", "--completed", "web"}, needs::read},
    {{"event", "--timeout", "1"}, needs::read},
    {{"define", xml}, needs::admin},
    {{"start", "web"}, needs::admin},
    {{"suspend", "web"}, needs::admin},
    {{"resume", "web"}, needs::admin},
    {{"undefine", "no-such-domain"}, needs::admin},
    {{"destroy", "no-such-domain"}, needs::admin},
    {{"migrate", "--p2p", "web", nowhere}, needs::admin},
    {{"domjobabort", "web"}, needs::admin},
    {{"migrate-setspeed", "web", "10"}, needs::admin},
    {{"migrate-setmaxdowntime", "web", "100"}, needs::admin},
    {{"migrate-recover", "web"}, needs::admin},
    {{"netcheck", "--size", "1", nowhere}, needs::admin},
  };
  // A certificate from another CA whose holder trusts both CAs (so its own
  // client accepts its certificate and ours, and only the agent judges).
  auto other_ca = pki::make_ca("another-ca");
  pki::issue_options client;
  client.use = pki::purpose::client;
  auto dir = cl.dir() + "/clients/mallory";
  ASSERT_FALSE(pki::write(pki::issue(other_ca, "mallory", client), dir,
                          "client"));
  ASSERT_FALSE(files::write_atomic(dir + "/ca-cert.pem",
                                   cl.ca().cert_pem + other_ca.cert_pem,
                                   0644));
  struct identity_case {
    std::string cn;
    outcome read;
    outcome admin;
  };
  std::vector<identity_case> identities{
    {"admin", outcome::allowed, outcome::allowed},
    {"viewer", outcome::allowed, outcome::denied},
    {"agent-x", outcome::denied, outcome::denied},
    {"nobody", outcome::no_role, outcome::no_role},
    {"mallory", outcome::foreign, outcome::foreign},
  };
  for (auto& who : identities) {
    for (auto& cmd : commands) {
      auto r = on("a", cmd.args, who.cn);
      auto want = cmd.role == needs::read ? who.read : who.admin;
      auto got = classify(r, who.cn);
      EXPECT_EQ(to_string(got), std::string{to_string(want)})
        << who.cn << ": " << join(cmd.args) << "\n" << r.err;
      if (got != outcome::allowed) {
        EXPECT_NE(r.rc, 0);
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      }
    }
  }
  // Nobody but the admin changed anything: the guest still runs here.
  EXPECT_EQ(state_of("a", "web"), "running");
}
