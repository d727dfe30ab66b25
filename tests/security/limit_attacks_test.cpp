// Limits before trust (docs/security.md, "Limits"): oversized messages,
// floods of half-made connections and hellos. The agent must refuse them
// without growing, and a legitimate client must still be served.

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <caf/make_message.hpp>

#include "messages/all.hpp"
#include "tests/security/fixture.hpp"
#include "util/net.hpp"

using namespace ferry;
using namespace ferry::attack;

namespace {

basp::header huge(uint64_t dest, uint32_t payload_len) {
  basp::header h;
  h.operation = basp::op::direct_message;
  h.operation_data = request_mid(1);
  h.source_actor = 7;
  h.dest_actor = dest;
  h.payload_len = payload_len;
  return h;
}

} // namespace

TEST_F(attack_test, oversized_headers_are_refused_before_anything_is_allocated) {
  start_target();
  auto before = rss_kib("a");
  {
    // Before the BASP handshake, before logging in, and after it.
    auto p = connect("a");
    ASSERT_TRUE(p->send_frame(huge(1, 0xFFFFFFF0u)));
    EXPECT_TRUE(p->closed_within(3s));
  }
  {
    std::unique_ptr<raw_peer> p;
    auto gk = connect_basp("a", p);
    ASSERT_TRUE(p->send_frame(huge(gk, 0xFFFFFFF0u)));
    EXPECT_TRUE(p->closed_within(3s));
  }
  {
    // Just over the limit before login (a hello is a few KiB).
    std::unique_ptr<raw_peer> p;
    auto gk = connect_basp("a", p);
    ASSERT_TRUE(p->send_frame(huge(gk, 65 * 1024)));
    EXPECT_TRUE(p->closed_within(3s));
  }
  {
    std::unique_ptr<raw_peer> p;
    auto s = log_in("a", p, "admin");
    ASSERT_NE(s.session, 0u);
    ASSERT_TRUE(p->send_frame(huge(s.session, 0xFFFFFFF0u)));
    EXPECT_TRUE(p->closed_within(3s));
  }
  {
    // After login the limit is the largest message ferry sends plus slack.
    std::unique_ptr<raw_peer> p;
    auto s = log_in("a", p, "admin");
    ASSERT_TRUE(p->send_frame(huge(s.session, 5 << 20)));
    EXPECT_TRUE(p->closed_within(3s));
  }
  auto after = rss_kib("a");
  EXPECT_LT(after - before, 64 * 1024) << "RSS grew from " << before
                                       << " KiB to " << after << " KiB";
  EXPECT_TRUE(logged("a", "before logging in is 65536"));
  expect_serving("a");
}

TEST_F(attack_test, a_hello_flood_from_one_certificate_keeps_nobody_out) {
  start_target();
  // "viewer" starts many handshakes and never finishes them. It may hold
  // as many as it may hold sessions; beyond that its own oldest go, and
  // other identities are not affected at all.
  std::vector<std::unique_ptr<raw_peer>> flood;
  for (int i = 0; i < 100; ++i) {
    std::unique_ptr<raw_peer> p;
    auto gk = connect_basp("a", p, "viewer");
    ASSERT_NE(gk, 0u);
    auto tls = tls_of("viewer");
    auto res = p->login(sys, &tls, "viewer", gk, true);
    // Later connections may be closed to make room: that is the point.
    if (res)
      flood.push_back(std::move(p));
  }
  expect_admin_served("a", "after 100 unfinished hellos",
                      "admin_list_after_hello_flood_ms");
  expect_serving("a");
}

TEST_F(attack_test, silent_and_garbage_connections_keep_nobody_out) {
  start_target();
  auto& n = cl.at("a");
  // From the client's own address (loopback): 200 connections that say
  // nothing, and 64 that send garbage, then a real client.
  std::vector<int> fds;
  for (int i = 0; i < 264; ++i) {
    std::string err;
    int fd = net::tcp_connect({n.options().host, n.options().port}, 2000, err);
    ASSERT_GE(fd, 0) << err;
    if (i >= 200) {
      std::string junk(512, static_cast<char>(i));
      auto sent = ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
      (void) sent;
    }
    fds.push_back(fd);
  }
  expect_admin_served("a", "behind 200 silent and 64 garbage connections",
                      "admin_list_behind_silent_connections_ms");
  for (int fd : fds)
    ::close(fd);
  expect_serving("a");
}

TEST_F(attack_test, a_peer_that_never_logs_in_is_dropped) {
  harness::node_options o;
  o.extra_args = attack_acl();
  o.extra_args.insert(o.extra_args.end(), {"--login-timeout-ms", "1500"});
  start_target("a", o);
  std::unique_ptr<raw_peer> p;
  ASSERT_NE(connect_basp("a", p), 0u);
  // It keeps the connection alive with heartbeats, as CAF would, but never
  // says hello: the login deadline closes it.
  basp::header beat;
  beat.operation = basp::op::heartbeat;
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - t0 < 10s) {
    p->send_frame(beat);
    closed = p->closed_within(300ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(logged("a", "did not log in within 1500 ms"))
    << cl.at("a").log_tail(10);
  expect_serving("a");
}
