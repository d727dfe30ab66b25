#pragma once

// Helpers the test hypervisor's command handlers share (hypervisor.cpp,
// hypervisor_direct.cpp): argument access and command errors, thrown as
// `command_error` and turned into QMP-style replies by `execute`.

#include <string>
#include <utility>

#include "drivers/test/hv/hypervisor.hpp"
#include "transport/uri.hpp"

namespace ferry::testhv::detail {

/// Timeouts of connections between hypervisors.
constexpr int connect_timeout_ms = 5000;
constexpr int handshake_timeout_ms = 10000;

[[noreturn]] inline void fail(std::string cls, std::string desc) {
  throw command_error{std::move(cls), std::move(desc)};
}

inline std::string str_arg(const json& args, const char* key) {
  auto i = args.find(key);
  if (i == args.end() || !i->is_string())
    fail("GenericError", std::string{"missing string argument '"} + key + "'");
  return i->get<std::string>();
}

inline bool bool_arg(const json& args, const char* key, bool fallback) {
  auto i = args.find(key);
  return i != args.end() && i->is_boolean() ? i->get<bool>() : fallback;
}

/// Splits `tcp:HOST:PORT` / `fd:NAME`.
inline std::pair<std::string, std::string> split_uri(const std::string& uri) {
  auto colon = uri.find(':');
  if (colon == std::string::npos)
    fail("GenericError", "invalid migration URI '" + uri + "'");
  return {uri.substr(0, colon), uri.substr(colon + 1)};
}

inline host_port tcp_address(const std::string& rest) {
  auto hp = parse_host_port(rest);
  if (!hp) {
    // Port 0 is valid here: "any free port".
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.substr(colon + 1) == "0")
      return host_port{rest.substr(0, colon), 0};
    fail("GenericError", "invalid address '" + rest + "'");
  }
  return *hp;
}

} // namespace ferry::testhv::detail
