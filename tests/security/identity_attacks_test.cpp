// Who may log in, as whom, and what the log says about them
// (docs/security.md, "Identity", "Roles"): certificates for the wrong
// purpose, a client wearing the agent's own name, names that try to forge
// log lines, other key types, and an ACL changed under a running agent.

#include <csignal>
#include <fstream>
#include <future>
#include <thread>

#include "tests/security/fixture.hpp"
#include "transport/pki.hpp"
#include "util/files.hpp"

using namespace ferry;
using namespace ferry::attack;

namespace {

/// Writes `cred` and the CA as a client's PKI directory of `cl`.
void write_client(harness::cluster& cl, const std::string& cn,
                  const pki::credential& cred, const std::string& ca_pem) {
  auto dir = cl.dir() + "/clients/" + cn;
  ASSERT_FALSE(pki::write(cred, dir, "client"));
  ASSERT_FALSE(files::write_atomic(dir + "/ca-cert.pem", ca_pem, 0644));
}

} // namespace

TEST_F(attack_test, a_certificate_for_the_wrong_purpose_is_refused) {
  start_target();
  // A client certificate without clientAuth (serverAuth only).
  pki::issue_options server_only;
  server_only.use = pki::purpose::server;
  write_client(cl, "admin-server-only",
               pki::issue(cl.ca(), "admin", server_only), cl.ca().cert_pem);
  auto r = on("a", {"list"}, "admin-server-only");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("handshake"), std::string::npos) << r.err;
  // An agent started with a client certificate (clientAuth only) refuses
  // to start, in one line.
  pki::issue_options client_only;
  client_only.use = pki::purpose::client;
  auto dir = cl.dir() + "/client-as-agent";
  ASSERT_FALSE(pki::write(pki::issue(cl.ca(), "agent-c", client_only), dir,
                          "agent"));
  harness::node_options o;
  o.cert = dir + "/agent-cert.pem";
  o.key = dir + "/agent-key.pem";
  o.ca = cl.ca_file();
  auto& c = cl.add_node("c", o);
  auto err = c.start(5000);
  EXPECT_NE(err.find("cannot serve as an agent's certificate"),
            std::string::npos)
    << err;
  expect_serving("a");
}

TEST_F(attack_test, a_client_wearing_the_agents_name_is_refused) {
  start_target();
  // Issued by the same CA, with the name the agent's own certificate has.
  auto r = on("a", {"list"}, "agent-a");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("may not present the agent's own certificate name"),
            std::string::npos)
    << r.err;
  expect_serving("a");
}

TEST_F(attack_test, names_from_clients_cannot_forge_log_lines) {
  harness::node_options o;
  o.tls = false;
  // The harness's own client (USER@host) administers; any other claimed
  // name reads.
  o.extra_args = {"--acl", "*@*=admin", "--acl-default", "read"};
  start_target("a", o);
  std::unique_ptr<raw_peer> p;
  auto gk = connect_basp("a", p);
  ASSERT_NE(gk, 0u);
  auto name = std::string{"mallory\n2026-01-01T00:00:00.000Z ferryd[a] info "
                          "session: 'admin' FORGED"};
  auto res = p->login(sys, nullptr, name, gk);
  ASSERT_TRUE(res) << error_text(res.error());
  ASSERT_TRUE(p->send_message(sys, 1, res->session,
                              caf::make_message(domain_op{domain_verb::destroy,
                                                          "web"}),
                              9));
  p->response(sys, 1, 9);
  auto log = cl.at("a").log();
  EXPECT_EQ(log.find("\n2026-01-01T00:00:00.000Z"), std::string::npos)
    << "a client wrote a line of its own into the agent's log";
  EXPECT_NE(log.find("mallory\\x0a2026-01-01"), std::string::npos)
    << cl.at("a").log_tail(10);
  expect_serving("a");
}

TEST_F(attack_test, ed25519_and_rsa_keys_serve_and_log_in) {
  pki::issue_options ed;
  ed.key = pki::key_kind::ed25519;
  auto dir = cl.dir() + "/ed25519-agent";
  ASSERT_FALSE(pki::write(pki::issue(cl.ca(), "agent-a", ed), dir, "agent"));
  harness::node_options o;
  o.cert = dir + "/agent-cert.pem";
  o.key = dir + "/agent-key.pem";
  o.ca = cl.ca_file();
  o.extra_args = attack_acl();
  start_target("a", o);
  pki::issue_options rsa;
  rsa.key = pki::key_kind::rsa2048;
  rsa.use = pki::purpose::client;
  write_client(cl, "admin-rsa", pki::issue(cl.ca(), "admin", rsa),
               cl.ca().cert_pem);
  ed.use = pki::purpose::client;
  write_client(cl, "admin-ed", pki::issue(cl.ca(), "admin", ed),
               cl.ca().cert_pem);
  for (auto* who : {"admin-rsa", "admin-ed"}) {
    auto r = on("a", {"list", "--all"}, who);
    EXPECT_EQ(r.rc, 0) << who << ": " << r.err;
  }
  // A peer-to-peer migration between an Ed25519 agent and an EC one.
  start_node("b", {});
  auto r = on("a", {"migrate", "--p2p", "web", cl.at("b").uri()}, "admin");
  EXPECT_EQ(r.rc, 0) << r.err << cl.at("a").log_tail(10);
}

TEST_F(attack_test, sighup_reloads_the_acl_for_new_and_open_sessions) {
  auto config = cl.dir() + "/ferryd.conf";
  auto write_acl = [&](const std::string& lines) {
    ASSERT_FALSE(files::write_atomic(config, lines, 0644));
  };
  write_acl("acl = admin=admin\nacl = viewer=read\n");
  harness::node_options o;
  o.extra_args = {"--config", config};
  start_target("a", o);
  fails("a", {"suspend", "web"}, "permission denied: 'viewer' may not",
        "viewer");
  write_acl("acl = admin=admin\nacl = viewer=admin\n");
  ::kill(cl.at("a").pid(), SIGHUP);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(on("a", {"suspend", "web"}, "viewer").rc, 0);
  EXPECT_EQ(on("a", {"resume", "web"}, "viewer").rc, 0);
  // Revoked while a session is open: the session ends, so does the wait.
  auto waiting = std::async(std::launch::async, [&] {
    return on("a", {"event", "--timeout", "30"}, "viewer");
  });
  std::this_thread::sleep_for(1s);
  write_acl("acl = admin=admin\n");
  auto t0 = std::chrono::steady_clock::now();
  ::kill(cl.at("a").pid(), SIGHUP);
  auto r = waiting.get();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - t0)
                .count();
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("lost the connection"), std::string::npos) << r.err;
  EXPECT_LT(secs, 15.0) << "the revoked session outlived the reload";
  fails("a", {"list"}, "'viewer' holds no role", "viewer");
  // A configuration that no longer parses changes nothing.
  write_acl("acl = viewer=superuser\n");
  ::kill(cl.at("a").pid(), SIGHUP);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(logged("a", "SIGHUP: keeping the current ACL"));
  EXPECT_EQ(on("a", {"list"}, "admin").rc, 0);
  expect_serving("a");
}
