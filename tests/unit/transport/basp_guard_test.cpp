// The door of one BASP connection (transport/door/basp_guard.hpp), fed
// with frames as a hostile or a legitimate peer would send them.

#include "transport/door/basp_guard.hpp"

#include <array>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <caf/binary_serializer.hpp>
#include <caf/node_id.hpp>

#include "transport/door/basp_frame.hpp"
#include "transport/door/door_registry.hpp"

using namespace ferry;
using action = basp_guard::action;

namespace {

caf::node_id node(uint32_t pid) {
  caf::node_id::default_data::host_id_type host{};
  host[0] = 0xfe;
  return caf::make_node_id(pid, host);
}

std::vector<char> nodes_payload(std::vector<caf::node_id> xs) {
  std::vector<char> out;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), out};
  for (auto& x : xs)
    EXPECT_FALSE(sink(x));
  return out;
}

/// A direct message's payload: forwarding stack (empty unless `stack`),
/// then the type list; the values do not matter to the door.
std::vector<char> message_payload(const std::string& types, size_t stack = 0) {
  std::vector<char> out;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), out};
  EXPECT_FALSE(sink.begin_sequence(stack));
  uint16_t zero = 0;
  auto name = types;
  EXPECT_FALSE(sink.begin_object(zero, name));
  out.push_back('x'); // a value byte
  return out;
}

type_lists accepts(std::set<std::string> xs) {
  return std::make_shared<const std::set<std::string>>(std::move(xs));
}

constexpr uint64_t request_mid = 0x1000000000000007ull; // normal, request 7
constexpr uint64_t async_mid = 0x1000000000000000ull;

/// One guard between a registry and a peer, and the frames it sees.
struct door_test : ::testing::Test {
  caf::node_id self = node(1);
  caf::node_id peer = node(2);
  door_limits limits;
  std::shared_ptr<door_registry> doors;
  std::unique_ptr<basp_guard> guard;
  bool closed_by_registry = false;

  void SetUp() override {
    limits.max_payload_before_login = 1024;
    limits.max_payload = 8192;
    make_guard(true);
  }

  void make_guard(bool accepted) {
    doors = std::make_shared<door_registry>(self, limits);
    auto conn = doors->open_connection("10.0.0.2", accepted,
                                       [this] { closed_by_registry = true; });
    guard = std::make_unique<basp_guard>(doors, conn, accepted, "test peer");
  }

  /// Feeds one frame; returns what the door decided last.
  basp_guard::verdict feed(basp::header hdr, const std::vector<char>& body) {
    hdr.payload_len = static_cast<uint32_t>(body.size());
    auto bytes = basp::encode_header(hdr);
    auto v = guard->on_header(bytes.data());
    if (v.what != action::read_payload)
      return v;
    EXPECT_EQ(v.payload_len, body.size());
    return guard->on_payload(body.data(), body.size());
  }

  basp::header hdr(basp::op op, uint64_t source = 0, uint64_t dest = 0,
                   uint64_t mid = async_mid, uint8_t flags = 0) {
    basp::header h;
    h.operation = op;
    h.flags = flags;
    h.operation_data = mid;
    h.source_actor = source;
    h.dest_actor = dest;
    return h;
  }

  basp_guard::verdict handshake() {
    return feed(hdr(basp::op::client_handshake), nodes_payload({peer}));
  }

  basp_guard::verdict message(uint64_t dest, const std::string& types,
                              uint64_t source = 42, uint64_t mid = async_mid) {
    return feed(hdr(basp::op::direct_message, source, dest, mid),
                message_payload(types));
  }

  void open_gatekeeper() {
    doors->open({10, {}, 0, accepts({"@<>+ferry.hello"}), false, "gk"});
  }

  void log_in() {
    doors->open({20, peer, 0, accepts({"@<>+ferry.list_domains"}), true,
                 "session"});
  }
};

} // namespace

TEST_F(door_test, nothing_but_a_heartbeat_before_the_handshake) {
  open_gatekeeper();
  EXPECT_EQ(feed(hdr(basp::op::heartbeat), {}).what, action::deliver);
  EXPECT_EQ(message(10, "@<>+ferry.hello").what, action::close);
}

TEST_F(door_test, the_gatekeeper_takes_the_handshake_and_nothing_else) {
  open_gatekeeper();
  EXPECT_EQ(handshake().what, action::deliver);
  EXPECT_EQ(message(10, "@<>+ferry.hello", 42, request_mid).what,
            action::deliver);
  auto v = message(10, "@<>+ferry.define_domain", 42, request_mid);
  EXPECT_EQ(v.what, action::close);
  EXPECT_NE(v.why.find("does not take it"), std::string::npos) << v.why;
}

TEST_F(door_test, system_messages_never_pass) {
  open_gatekeeper();
  ASSERT_EQ(handshake().what, action::deliver);
  for (auto* types : {"@<>+@exit", "@<>+@down", "@<>+@atom+@strong_actor_ptr",
                      "@<>+@atom+@atom+@str", "@<>+@message"})
    EXPECT_EQ(message(10, types).what, action::close) << types;
}

TEST_F(door_test, an_actor_without_a_door_is_unreachable) {
  ASSERT_EQ(handshake().what, action::deliver);
  auto v = message(77, "@<>+ferry.domain_op");
  EXPECT_EQ(v.what, action::close);
  EXPECT_NE(v.why.find("not open to it"), std::string::npos) << v.why;
}

TEST_F(door_test, late_messages_to_a_door_that_just_closed_are_dropped) {
  log_in();
  ASSERT_EQ(handshake().what, action::deliver);
  doors->close(20);
  EXPECT_EQ(message(20, "@<>+ferry.list_domains").what, action::drop);
}

TEST_F(door_test, a_door_for_one_node_is_closed_to_another) {
  doors->open({30, node(3), 0, accepts({"@<>+ferry.pump_chunk"}), false, "p"});
  ASSERT_EQ(handshake().what, action::deliver);
  EXPECT_EQ(message(30, "@<>+ferry.pump_chunk").what, action::close);
}

TEST_F(door_test, a_door_for_one_actor_is_closed_to_its_neighbours) {
  doors->open({30, peer, 9, accepts({"@<>+ferry.pump_chunk"}), false, "p"});
  ASSERT_EQ(handshake().what, action::deliver);
  EXPECT_EQ(message(30, "@<>+ferry.pump_chunk", 9).what, action::deliver);
  EXPECT_EQ(message(30, "@<>+ferry.pump_chunk", 8).what, action::close);
}

TEST_F(door_test, a_huge_header_closes_before_anything_is_read) {
  open_gatekeeper();
  ASSERT_EQ(handshake().what, action::deliver);
  auto h = hdr(basp::op::direct_message, 42, 10);
  h.payload_len = 0xFFFFFFFFu;
  auto bytes = basp::encode_header(h);
  auto v = guard->on_header(bytes.data());
  EXPECT_EQ(v.what, action::close);
  EXPECT_NE(v.why.find("before logging in"), std::string::npos) << v.why;
}

TEST_F(door_test, logging_in_raises_the_limit_to_the_largest_message) {
  open_gatekeeper();
  ASSERT_EQ(handshake().what, action::deliver);
  std::vector<char> big(2000, 'x');
  auto h = hdr(basp::op::direct_message, 42, 20);
  h.payload_len = 2000;
  auto bytes = basp::encode_header(h);
  EXPECT_EQ(guard->on_header(bytes.data()).what, action::close);
  make_guard(true);
  open_gatekeeper();
  log_in();
  ASSERT_EQ(handshake().what, action::deliver);
  EXPECT_EQ(guard->on_header(bytes.data()).what, action::read_payload);
  h.payload_len = 8193;
  bytes = basp::encode_header(h);
  EXPECT_EQ(guard->on_header(bytes.data()).what, action::close);
}

TEST_F(door_test, names_are_not_addresses) {
  ASSERT_EQ(handshake().what, action::deliver);
  auto spawn_query = hdr(basp::op::direct_message, 42,
                         basp::spawn_server_atom(), request_mid,
                         basp::named_receiver_flag);
  // CAF's own question to every new peer: dropped, never answered.
  EXPECT_EQ(feed(spawn_query, message_payload("@<>+@atom+@atom+@str")).what,
            action::drop);
  auto lookup = spawn_query;
  lookup.dest_actor = 0x1234; // any other name: ConfigServ, evbus, …
  EXPECT_EQ(feed(lookup, message_payload("@<>+@atom+@str")).what,
            action::close);
}

TEST_F(door_test, no_routing_no_forwarding_stack_no_anonymous_messages) {
  log_in();
  ASSERT_EQ(handshake().what, action::deliver);
  EXPECT_EQ(feed(hdr(basp::op::routed_message, 42, 20),
                 nodes_payload({peer, self}))
              .what,
            action::close);
  EXPECT_EQ(feed(hdr(basp::op::direct_message, 42, 20),
                 message_payload("@<>+ferry.list_domains", 1))
              .what,
            action::close);
  EXPECT_EQ(message(20, "@<>+ferry.list_domains", 0).what, action::close);
}

TEST_F(door_test, responses_only_to_what_was_asked_and_never_system_types) {
  ASSERT_EQ(handshake().what, action::deliver);
  auto response = request_mid | basp::response_flag;
  // Nothing asked yet: a forged answer.
  EXPECT_EQ(message(5, "@<>+bool", 99, response).what, action::close);
  make_guard(true);
  ASSERT_EQ(handshake().what, action::deliver);
  // Local actor 5 asks the peer's actor 99.
  auto out = hdr(basp::op::direct_message, 5, 99, request_mid);
  auto body = message_payload("@<>+ferry.get_node_info");
  out.payload_len = static_cast<uint32_t>(body.size());
  auto bytes = basp::encode_header(out);
  bytes.insert(bytes.end(), body.begin(), body.end());
  guard->on_outgoing(bytes.data(), bytes.size());
  EXPECT_EQ(message(5, "@<>+@exit", 99, response).what, action::close);
  make_guard(true);
  ASSERT_EQ(handshake().what, action::deliver);
  guard->on_outgoing(bytes.data(), bytes.size());
  EXPECT_EQ(message(5, "@<>+std::vector<ferry.domain_info>", 99, response).what,
            action::deliver);
  // Answered once: a second answer is forged.
  EXPECT_EQ(message(5, "@<>+bool", 99, response).what, action::close);
}

TEST_F(door_test, monitors_and_downs_only_in_the_peers_own_name) {
  ASSERT_EQ(handshake().what, action::deliver);
  auto monitor = hdr(basp::op::monitor_message, 0, 5);
  EXPECT_EQ(feed(monitor, nodes_payload({peer, self})).what, action::drop);
  auto out = basp::encode_header(hdr(basp::op::direct_message, 5, 99));
  guard->on_outgoing(out.data(), out.size()); // the peer was shown actor 5
  EXPECT_EQ(feed(monitor, nodes_payload({peer, self})).what, action::deliver);
  // A down message ends our proxy of one of the peer's own actors: fine.
  // In another node's name it would end proxies the peer does not own.
  auto down = hdr(basp::op::down_message, 99, 0);
  auto err = nodes_payload({peer, self});
  EXPECT_EQ(feed(down, err).what, action::deliver);
  EXPECT_EQ(feed(down, nodes_payload({node(3), self})).what, action::close);
  EXPECT_EQ(feed(monitor, nodes_payload({node(3), self})).what, action::close);
}

TEST_F(door_test, a_node_id_is_never_shared_between_connections) {
  ASSERT_EQ(handshake().what, action::deliver);
  auto first = std::move(guard);
  auto conn = doors->open_connection("10.0.0.3", true, [] {});
  guard = std::make_unique<basp_guard>(doors, conn, true, "impostor");
  // The same node id again: swallowed (CAF would drop it as redundant),
  // and anything but a heartbeat after it closes the connection.
  EXPECT_EQ(handshake().what, action::drop);
  open_gatekeeper();
  EXPECT_EQ(message(10, "@<>+ferry.hello").what, action::close);
  auto own = doors->open_connection("10.0.0.4", true, [] {});
  guard = std::make_unique<basp_guard>(doors, own, true, "mirror");
  EXPECT_EQ(feed(hdr(basp::op::client_handshake), nodes_payload({self})).what,
            action::close);
}

TEST_F(door_test, a_connection_that_never_logs_in_is_closed) {
  limits.login_deadline = std::chrono::milliseconds{0};
  make_guard(true);
  EXPECT_EQ(feed(hdr(basp::op::heartbeat), {}).what, action::close);
  // Our own outgoing connections have no such deadline.
  make_guard(false);
  EXPECT_EQ(feed(hdr(basp::op::heartbeat), {}).what, action::deliver);
}

TEST(door_registry, room_is_made_by_closing_the_oldest_silent_connection) {
  door_limits limits;
  limits.max_unauthenticated = 3;
  limits.max_unauthenticated_per_address = 2;
  door_registry doors{node(1), limits};
  std::vector<int> closed;
  auto open = [&](const std::string& address, int n) {
    return doors.open_connection(address, true, [&closed, n] {
      closed.push_back(n);
    });
  };
  open("10.0.0.1", 1);
  open("10.0.0.1", 2);
  open("10.0.0.1", 3); // third from one address: the first goes
  EXPECT_EQ(closed, (std::vector<int>{1}));
  auto c4 = open("10.0.0.2", 4);
  EXPECT_EQ(closed, (std::vector<int>{1}));
  open("10.0.0.3", 5); // fourth in all: the oldest (2) goes
  EXPECT_EQ(closed, (std::vector<int>{1, 2}));
  // A connection that logged in no longer counts.
  ASSERT_TRUE(doors.bind_node(c4, node(4)));
  doors.open({50, node(4), 0, {}, true, "session"});
  open("10.0.0.3", 6);
  EXPECT_EQ(closed, (std::vector<int>{1, 2}));
  EXPECT_EQ(doors.unauthenticated(), 3u);
  // Its doors close with it.
  doors.connection_closed(c4);
  EXPECT_FALSE(doors.find(50));
}
