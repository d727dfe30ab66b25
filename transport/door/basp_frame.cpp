#include "transport/door/basp_frame.hpp"

#include <caf/atom.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/io/basp/header.hpp>

#include "util/error.hpp"

namespace ferry::basp {

const char* to_string(op x) {
  switch (x) {
    case op::server_handshake: return "server_handshake";
    case op::client_handshake: return "client_handshake";
    case op::direct_message: return "direct_message";
    case op::routed_message: return "routed_message";
    case op::monitor_message: return "monitor_message";
    case op::down_message: return "down_message";
    case op::heartbeat: return "heartbeat";
  }
  return "unknown";
}

caf::expected<header> parse_header(const char* p) {
  // CAF's own deserializer and header type: the byte order and field
  // layout are whatever the linked CAF writes.
  caf::io::basp::header raw;
  caf::binary_deserializer bd{static_cast<caf::execution_unit*>(nullptr), p,
                              header_size};
  if (auto err = bd(raw))
    return make_error(errc::invalid_argument, "unreadable BASP header");
  auto code = static_cast<uint8_t>(raw.operation);
  if (code > static_cast<uint8_t>(op::heartbeat))
    return make_error(errc::invalid_argument,
                      "unknown BASP operation " + std::to_string(code));
  header out;
  out.operation = static_cast<op>(code);
  out.flags = raw.flags;
  out.payload_len = raw.payload_len;
  out.operation_data = raw.operation_data;
  out.source_actor = raw.source_actor;
  out.dest_actor = raw.dest_actor;
  return out;
}

caf::expected<message_head> parse_message_head(const char* p, size_t n) {
  caf::binary_deserializer bd{static_cast<caf::execution_unit*>(nullptr), p,
                              n};
  message_head out;
  size_t stack = 0;
  if (auto err = bd.begin_sequence(stack))
    return make_error(errc::invalid_argument, "unreadable forwarding stack");
  out.stack_size = static_cast<uint32_t>(stack);
  if (stack != 0)
    return out; // the caller refuses any stack; no need to read on
  uint16_t type_nr = 0;
  // begin_object reads a string only when the number is 0; CAF checks the
  // claimed length against what is left before copying.
  if (auto err = bd.begin_object(type_nr, out.types))
    return make_error(errc::invalid_argument, "unreadable message type");
  if (type_nr != 0)
    return make_error(errc::invalid_argument, "numbered message type");
  return out;
}

caf::expected<std::vector<std::string>> split_types(const std::string& types) {
  static const std::string empty = "@<>";
  if (types.compare(0, empty.size(), empty) != 0)
    return make_error(errc::invalid_argument, "not a message type list");
  std::vector<std::string> out;
  size_t pos = empty.size();
  if (pos == types.size())
    return out;
  while (pos < types.size()) {
    if (types[pos] != '+')
      return make_error(errc::invalid_argument, "not a message type list");
    auto next = types.find('+', pos + 1);
    auto name = types.substr(pos + 1, next == std::string::npos
                                        ? std::string::npos
                                        : next - pos - 1);
    if (name.empty())
      return make_error(errc::invalid_argument, "empty type name");
    out.push_back(std::move(name));
    pos = next == std::string::npos ? types.size() : next;
  }
  return out;
}

caf::expected<std::vector<caf::node_id>>
parse_nodes(const char* p, size_t n, size_t count) {
  caf::binary_deserializer bd{static_cast<caf::execution_unit*>(nullptr), p,
                              n};
  std::vector<caf::node_id> out(count);
  for (auto& x : out)
    if (auto err = bd(x))
      return make_error(errc::invalid_argument, "unreadable node id");
  return out;
}

uint64_t spawn_server_atom() {
  return static_cast<uint64_t>(caf::atom("SpawnServ"));
}

std::vector<char> encode_header(const header& hdr) {
  caf::io::basp::header raw{static_cast<caf::io::basp::message_type>(
                              hdr.operation),
                            hdr.flags,
                            hdr.payload_len,
                            hdr.operation_data,
                            hdr.source_actor,
                            hdr.dest_actor};
  std::vector<char> out;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), out};
  if (auto err = sink(raw))
    out.clear();
  return out;
}

} // namespace ferry::basp
