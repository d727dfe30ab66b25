// Attacks on the door (docs/security.md, "One door"): a hostile client
// built from ferry's own library tries to reach, stop or fool an agent's
// actors directly. Each attempt must be refused (an error or a closed
// connection), the agent must keep serving, and nothing it keeps may
// change.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <thread>

#include <caf/atom.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>
#include <caf/system_messages.hpp>

#include "messages/all.hpp"
#include "tests/security/fixture.hpp"
#include "transport/pki.hpp"
#include "transport/tls/tls_context.hpp"
#include "transport/tls/tls_handshake.hpp"
#include "util/net.hpp"

using namespace ferry;
using namespace ferry::attack;

namespace {

/// A message CAF itself would act on before any handler: an exit.
caf::message kill_message() {
  return caf::make_message(
    caf::exit_msg{caf::actor_addr{}, caf::exit_reason::kill});
}

} // namespace

TEST_F(attack_test, a_read_role_cannot_mutate_through_its_session) {
  start_target();
  auto before = snapshot("a");
  std::unique_ptr<raw_peer> p;
  auto s = log_in("a", p, "viewer");
  ASSERT_NE(s.session, 0u);
  uint64_t rid = 100;
  auto refused = [&](caf::message msg, const char* what) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(p->send_message(sys, 1, s.session, msg, ++rid));
    auto answer = p->response(sys, 1, rid);
    ASSERT_TRUE(answer) << error_text(answer.error());
    ASSERT_TRUE(answer->match_elements<caf::error>()) << to_string(*answer);
    EXPECT_EQ(code_of(answer->get_as<caf::error>(0)), errc::permission_denied);
  };
  refused(caf::make_message(domain_op{domain_verb::destroy, "web"}), "destroy");
  refused(caf::make_message(domain_op{domain_verb::undefine, "web"}),
          "undefine");
  refused(caf::make_message(define_domain{test::test_domain_xml("x", 16)}),
          "define");
  migrate_request m;
  m.domain = "web";
  m.flags.p2p = true;
  m.flags.dest_uri = "ferry+tls://127.0.0.1:1/test";
  refused(caf::make_message(m), "migrate");
  refused(caf::make_message(job_control{job_verb::abort, "web", 0, {}}),
          "abort");
  refused(caf::make_message(arm_fault{}), "arm_fault");
  refused(caf::make_message(introspect{}), "introspect");
  EXPECT_EQ(snapshot("a"), before);
  EXPECT_TRUE(logged("a", "denied destroy domains to 'viewer'"));
  expect_serving("a");
}

TEST_F(attack_test, guessed_actor_ids_reach_nothing) {
  start_target();
  std::unique_ptr<raw_peer> probe;
  auto s = log_in("a", probe, "viewer");
  ASSERT_NE(s.session, 0u);
  auto before = snapshot("a");
  // Every id up to well past the newest actor, each on a fresh
  // connection (the first refusal closes it), with a message that would
  // destroy the guest if any actor took it.
  size_t closed = 0;
  size_t tried = 0;
  for (uint64_t id = 1; id < s.session + 64; ++id) {
    std::unique_ptr<raw_peer> p;
    auto gk = connect_basp("a", p, "viewer");
    ASSERT_NE(gk, 0u);
    if (id == gk)
      continue;
    ++tried;
    p->send_message(sys, 7, id,
                    caf::make_message(domain_op{domain_verb::destroy, "web"}),
                    1);
    closed += p->closed_within(3s) ? 1 : 0;
  }
  EXPECT_EQ(closed, tried);
  EXPECT_EQ(snapshot("a"), before);
  expect_serving("a");
}

TEST_F(attack_test, cafs_info_query_and_system_messages_are_refused) {
  start_target();
  auto before = snapshot("a");
  auto attempt = [&](bool login, caf::message msg, const char* what) {
    SCOPED_TRACE(what);
    std::unique_ptr<raw_peer> p;
    uint64_t target;
    if (login) {
      target = log_in("a", p, "viewer").session;
    } else {
      target = connect_basp("a", p, "viewer");
    }
    ASSERT_NE(target, 0u);
    p->send_message(sys, 7, target, msg, 1);
    EXPECT_TRUE(p->closed_within(3s));
    expect_serving("a");
  };
  auto info = caf::make_message(caf::sys_atom::value, caf::get_atom::value,
                                std::string{"info"});
  attempt(false, info, "info query to the gatekeeper");
  attempt(true, info, "info query to the session");
  attempt(false, kill_message(), "kill to the gatekeeper");
  attempt(true, kill_message(), "kill to the session");
  attempt(false,
          caf::make_message(caf::exit_msg{caf::actor_addr{},
                                          caf::exit_reason::user_shutdown}),
          "user_shutdown to the gatekeeper");
  attempt(false,
          caf::make_message(caf::link_atom::value, caf::strong_actor_ptr{}),
          "link to the gatekeeper");
  attempt(true, caf::make_message(caf::down_msg{}), "down to the session");
  EXPECT_EQ(snapshot("a"), before);
}

TEST_F(attack_test, forged_down_messages_and_monitors_do_not_pass) {
  start_target();
  std::unique_ptr<raw_peer> p;
  auto s = log_in("a", p, "viewer");
  ASSERT_NE(s.session, 0u);
  auto nodes = [&](const caf::node_id& from) {
    std::vector<char> out;
    caf::binary_serializer sink{sys, out};
    EXPECT_FALSE(sink(from, s.agent));
    return out;
  };
  // Monitoring an actor we were never shown is dropped (nothing to gain),
  // and the connection goes on.
  basp::header monitor;
  monitor.operation = basp::op::monitor_message;
  monitor.dest_actor = s.session + 1000;
  ASSERT_TRUE(p->send_frame(monitor, nodes(p->node())));
  EXPECT_FALSE(p->closed_within(500ms));
  // A down message in another node's name would end proxies that node
  // owns: it closes the connection.
  auto forged = nodes(fresh_node_id());
  caf::binary_serializer sink{sys, forged};
  ASSERT_FALSE(sink(caf::error{}));
  basp::header down;
  down.operation = basp::op::down_message;
  down.source_actor = 5;
  ASSERT_TRUE(p->send_frame(down, forged));
  EXPECT_TRUE(p->closed_within(3s));
  expect_serving("a");
}

TEST_F(attack_test, no_actor_is_found_by_name) {
  start_target();
  auto before = snapshot("a");
  auto named = [&](const char* name, caf::message msg) {
    std::unique_ptr<raw_peer> p;
    EXPECT_NE(connect_basp("a", p, "viewer"), 0u);
    if (p)
      p->send_message(sys, 7, static_cast<uint64_t>(caf::atom_from_string(name)),
                    msg, 1, basp::named_receiver_flag);
    return p;
  };
  // A remote lookup (CAF asks the node's ConfigServ) and a message to the
  // name the event bus once had: both close the connection.
  auto lookup = named("ConfigServ", caf::make_message(caf::get_atom::value,
                                                     std::string{"evbus"}));
  ASSERT_TRUE(lookup);
  EXPECT_TRUE(lookup->closed_within(3s));
  auto old_bus = named("evbus", caf::make_message(domain_event{}));
  ASSERT_TRUE(old_bus);
  EXPECT_TRUE(old_bus->closed_within(3s));
  // CAF's own question to a new peer's spawn server goes unanswered.
  auto spawn = named("SpawnServ",
                     caf::make_message(caf::sys_atom::value,
                                       caf::get_atom::value,
                                       std::string{"info"}));
  ASSERT_TRUE(spawn);
  EXPECT_FALSE(spawn->response(sys, 7, 1, 1s)) << "the spawn server answered";
  EXPECT_EQ(snapshot("a"), before);
  expect_serving("a");
}

TEST_F(attack_test, events_come_from_the_session_and_cannot_be_forged) {
  start_target();
  harness::node_options bo;
  bo.extra_args = attack_acl();
  start_node("b", bo);
  std::unique_ptr<raw_peer> p;
  auto s = log_in("a", p, "viewer");
  ASSERT_NE(s.session, 0u);
  // The subscriber is the sender; the events arrive from the session.
  ASSERT_TRUE(p->send_message(sys, 3, s.session,
                              caf::make_message(subscribe_events{}), 50));
  auto ok = p->response(sys, 3, 50);
  ASSERT_TRUE(ok) << error_text(ok.error());
  ASSERT_TRUE(ok->match_elements<bool>()) << to_string(*ok);
  // A migration away is a lifecycle event on this agent.
  this->ok("a", {"migrate", "--live", "--p2p", "web", cl.at("b").uri()});
  std::optional<frame> ev;
  for (int i = 0; i < 10 && !ev; ++i) {
    auto f = p->next(3s);
    ASSERT_TRUE(f) << "no event\n" << cl.at("a").log_tail(10);
    if (f->hdr.operation == basp::op::direct_message && f->hdr.dest_actor == 3)
      ev = f;
  }
  EXPECT_EQ(ev->hdr.source_actor, s.session)
    << "an event came from another agent actor than the session";
  // Sending an event into the agent closes the connection.
  domain_event forged;
  forged.domain = "web";
  forged.kind = lifecycle_event::stopped_migrated;
  p->send_message(sys, 3, s.session, caf::make_message(forged));
  EXPECT_TRUE(p->closed_within(3s));
  expect_answering("a");
  EXPECT_EQ(state_of("b", "web"), "running");
}

TEST_F(attack_test, plain_tcp_agents_keep_the_same_door) {
  harness::node_options o;
  o.tls = false;
  o.extra_args = {"--acl-default", "admin,peer"};
  start_target("a", o);
  auto before = snapshot("a");
  std::unique_ptr<raw_peer> p;
  auto gk = connect_basp("a", p);
  ASSERT_NE(gk, 0u);
  p->send_message(sys, 7, gk, kill_message(), 1);
  EXPECT_TRUE(p->closed_within(3s));
  // Over plain TCP a name is only claimed: "admin" logs in as admin.
  std::unique_ptr<raw_peer> q;
  auto s = log_in("a", q, "admin");
  ASSERT_NE(s.session, 0u);
  q->send_message(sys, 7, s.session + 1,
                  caf::make_message(domain_op{domain_verb::destroy, "web"}), 1);
  EXPECT_TRUE(q->closed_within(3s));
  EXPECT_EQ(snapshot("a"), before);
  expect_serving("a");
}

TEST_F(attack_test, forged_pump_chunks_never_reach_a_running_job) {
  start_target();
  harness::node_options bo;
  bo.extra_args = attack_acl();
  start_node("b", bo);
  ok("a", {"define", xml_file("big", test::test_domain_xml("big", 64, 4, 16))});
  ok("a", {"start", "big"});
  // A slow tunnelled migration: its pumps live for several seconds.
  auto migration = std::async(std::launch::async, [&] {
    return on("a", {"migrate", "--live", "--p2p", "--tunnelled", "--bandwidth",
                    "6", "big", cl.at("b").uri()});
  });
  for (int i = 0; i < 100; ++i) {
    auto info = on("a", {"domjobinfo", "big"});
    if (info.out.find("perform") != std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  // A peer agent's certificate, trying every actor id of the destination
  // with a chunk of garbage (each refusal closes the connection).
  std::unique_ptr<raw_peer> probe;
  auto s = log_in("b", probe, "agent-x");
  ASSERT_NE(s.session, 0u);
  pump_chunk chunk;
  chunk.seq = 0;
  chunk.data = chunk_bytes(4096);
  std::memset(chunk.data.data(), 0x5a, chunk.data.size());
  auto [tried, closed] = probe_every_id("b", "agent-x", s.session + 63,
                                        caf::make_message(std::move(chunk)));
  EXPECT_GT(tried, s.session);
  EXPECT_EQ(closed, tried);
  auto r = migration.get();
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("digest verified"), std::string::npos) << r.out;
  EXPECT_EQ(state_of("b", "big"), "running");
  expect_answering("b");
  expect_serving("a");
}

namespace {

/// A "hypervisor" that holds a certificate of the agents' CA but not the
/// test hypervisors' shared secret: it plays the destination of a direct
/// migration and claims to accept. Returns how many bytes the source sent
/// after that claim.
size_t pretend_destination(int listener, const tls_settings& tls) {
  int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0)
    return 0;
  auto ctx = tls_context::load(tls);
  if (!ctx) {
    ::close(fd);
    return 0;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  auto ssl = (*ctx)->new_session(fd, true);
  tls_handshake hs{fd, std::move(*ssl), "source"};
  if (hs.run(std::chrono::steady_clock::now() + 5s, -1)
      != tls_handshake::state::done)
    return 0;
  int conn = -1;
  auto session = hs.release(conn);
  ::fcntl(conn, F_SETFL, ::fcntl(conn, F_GETFL) & ~O_NONBLOCK);
  timeval tv{2, 0};
  ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string nonce(32, 'n');
  SSL_write(session.get(), nonce.data(), 32);
  char proof[64];
  int got = 0;
  while (got < 64) {
    int n = SSL_read(session.get(), proof + got, 64 - got);
    if (n <= 0)
      break;
    got += n;
  }
  std::string accept_without_proof = "A" + std::string(32, 'x');
  SSL_write(session.get(), accept_without_proof.data(),
            static_cast<int>(accept_without_proof.size()));
  size_t after = 0;
  char buf[4096];
  for (;;) {
    int n = SSL_read(session.get(), buf, sizeof(buf));
    if (n <= 0)
      break;
    after += static_cast<size_t>(n);
  }
  session.reset();
  ::close(conn);
  return after;
}

} // namespace

TEST_F(attack_test, direct_migration_checks_the_destination_hypervisor_too) {
  start_target();
  std::string err;
  uint16_t port = 0;
  int listener = net::tcp_listen({"127.0.0.1", 0}, &port, err);
  ASSERT_GE(listener, 0) << err;
  auto dir = cl.dir() + "/impostor";
  ASSERT_FALSE(pki::write(pki::issue(cl.ca(), "agent-impostor"), dir, "hv"));
  tls_settings tls{dir + "/hv-cert.pem", dir + "/hv-key.pem", cl.ca_file()};
  auto impostor = std::async(std::launch::async, [&] {
    return pretend_destination(listener, tls);
  });
  fails("a",
        {"migrate", "--direct", "web",
         "testhv://127.0.0.1:" + std::to_string(port)},
        "did not prove the shared secret");
  EXPECT_EQ(impostor.get(), 0u) << "the source sent the guest's definition or "
                                   "memory to an unproven destination";
  ::close(listener);
  EXPECT_EQ(state_of("a", "web"), "running");
}
