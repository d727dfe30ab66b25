#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/node_id.hpp>

namespace ferry::basp {

/// What a BASP message is (CAF 0.17's `basp::message_type`).
enum class op : uint8_t {
  server_handshake = 0,
  client_handshake = 1,
  direct_message = 2,
  routed_message = 3,
  monitor_message = 4,
  down_message = 5,
  heartbeat = 6,
};

/// Names an operation for log lines ("direct_message").
const char* to_string(op x);

/// Size of a BASP header on the wire.
constexpr size_t header_size = 32;

/// `flags`: the receiver is named by an atom in `dest_actor`, not an id.
constexpr uint8_t named_receiver_flag = 0x01;

/// `flags`: the client repeats its handshake to select this connection.
constexpr uint8_t select_connection_flag = 0x02;

/// CAF's message id bits (caf/message_id.hpp): the top bit marks a
/// response, the two after it the category, the low 60 bits the request.
constexpr uint64_t response_flag = 0x8000000000000000ull;
constexpr uint64_t category_mask = 0x3000000000000000ull;
constexpr uint64_t request_id_mask = 0x0FFFFFFFFFFFFFFFull;

/// One BASP header, decoded (CAF's `basp::header`, read with CAF's own
/// deserializer so the byte order is CAF's).
struct header {
  op operation = op::heartbeat;
  uint8_t flags = 0;
  uint32_t payload_len = 0;
  uint64_t operation_data = 0; ///< Message id (messages), version (handshakes).
  uint64_t source_actor = 0;
  uint64_t dest_actor = 0;

  bool has(uint8_t flag) const {
    return (flags & flag) != 0;
  }
  bool is_response() const {
    return (operation_data & response_flag) != 0;
  }
  bool is_request() const {
    return !is_response() && (operation_data & request_id_mask) != 0;
  }
  /// Normal or urgent: not one of CAF's stream categories.
  bool ordinary_category() const {
    return (operation_data & category_mask) <= 0x1000000000000000ull;
  }
  uint64_t request_id() const {
    return operation_data & request_id_mask;
  }
};

/// Decodes the `header_size` bytes at `p`; an error names what is wrong
/// (an unknown operation, nonzero padding).
caf::expected<header> parse_header(const char* p);

/// The start of a direct message's payload: CAF writes its forwarding
/// stack, then the message's type names joined as "@<>+T1+T2…", then the
/// values.
struct message_head {
  uint32_t stack_size = 0;
  std::string types; ///< E.g. "@<>+ferry.hello".
};

/// Reads a message head from a payload (without touching the values).
caf::expected<message_head> parse_message_head(const char* p, size_t n);

/// Splits "@<>+A+B" into {"A", "B"}; "@<>" is the empty message. Errors
/// for anything that is not such a list.
caf::expected<std::vector<std::string>> split_types(const std::string& types);

/// Reads the node ids a payload starts with: one for the handshakes, two
/// (source, destination) for monitor and down messages.
caf::expected<std::vector<caf::node_id>>
parse_nodes(const char* p, size_t n, size_t count);

/// The atom CAF names its spawn server with ("SpawnServ"): a node asks
/// every new peer's about itself, by name, as soon as they connect.
uint64_t spawn_server_atom();

/// A BASP header as bytes, for tests and the attack suite.
std::vector<char> encode_header(const header& hdr);

} // namespace ferry::basp
