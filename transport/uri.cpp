#include "transport/uri.hpp"

#include <cctype>

#include "util/error.hpp"

namespace ferry {

namespace {

caf::error bad(const std::string& text, const std::string& why) {
  return make_error(errc::invalid_uri, "invalid URI '" + text + "': " + why);
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'
         || c == '_';
}

bool valid_driver_name(const std::string& s) {
  if (s.empty() || s.size() > 32)
    return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c))
          || std::isdigit(static_cast<unsigned char>(c)) || c == '_'
          || c == '-'))
      return false;
  return true;
}

/// Parses HOST[:PORT] into `out`; returns why it failed, or "" on success.
std::string parse_hp(const std::string& text, uint16_t default_port,
                     host_port& out) {
  std::string rest;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos)
      return "missing ']' after IPv6 address";
    out.host = text.substr(1, close - 1);
    for (char c : out.host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':'
            || c == '.'))
        return "invalid IPv6 address";
    rest = text.substr(close + 1);
  } else {
    auto colon = text.find(':');
    out.host = text.substr(0, colon);
    rest = colon == std::string::npos ? "" : text.substr(colon);
    for (char c : out.host)
      if (!valid_host_char(c))
        return std::string{"invalid character '"} + c + "' in host";
  }
  if (out.host.empty())
    return "missing host";
  if (out.host.size() > 253)
    return "host name too long";
  if (rest.empty()) {
    if (default_port == 0)
      return "missing port (expected HOST:PORT)";
    out.port = default_port;
    return "";
  }
  if (rest[0] != ':')
    return "unexpected text after host";
  auto digits = rest.substr(1);
  unsigned value = 0;
  if (digits.empty() || digits.size() > 5)
    return "port must be a number from 1 to 65535";
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return "port must be a number from 1 to 65535";
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535)
    return "port must be a number from 1 to 65535";
  out.port = static_cast<uint16_t>(value);
  return "";
}

} // namespace

std::string agent_uri::to_string() const {
  return std::string{tls ? "ferry+tls://" : "ferry+tcp://"}
         + address.to_string() + "/" + driver;
}

std::string hypervisor_uri::to_string() const {
  return scheme + "://" + address.to_string();
}

caf::expected<host_port> parse_host_port(const std::string& text,
                                         uint16_t default_port) {
  host_port out;
  auto why = parse_hp(text, default_port, out);
  if (!why.empty())
    return bad(text, why);
  return out;
}

caf::expected<agent_uri> parse_agent_uri(const std::string& text) {
  agent_uri out;
  std::string rest;
  static const std::string tls = "ferry+tls://";
  static const std::string tcp = "ferry+tcp://";
  if (text.compare(0, tls.size(), tls) == 0) {
    rest = text.substr(tls.size());
  } else if (text.compare(0, tcp.size(), tcp) == 0) {
    out.tls = false;
    rest = text.substr(tcp.size());
  } else {
    auto sep = text.find("://");
    if (sep == std::string::npos)
      return bad(text, "expected ferry+tls://HOST[:PORT]/DRIVER");
    return bad(text, "unknown scheme '" + text.substr(0, sep)
                       + "' (use ferry+tls or ferry+tcp)");
  }
  if (rest.find_first_of("?#@") != std::string::npos)
    return bad(text, "user info, query and fragment are not supported");
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    out.driver = rest.substr(slash + 1);
    if (!out.driver.empty() && out.driver.back() == '/')
      out.driver.pop_back();
    if (!out.driver.empty() && !valid_driver_name(out.driver))
      return bad(text, "invalid driver name '" + out.driver + "'");
  }
  auto why = parse_hp(authority, default_agent_port, out.address);
  if (!why.empty())
    return bad(text, why);
  return out;
}

caf::expected<hypervisor_uri> parse_hypervisor_uri(const std::string& text) {
  static const std::string prefix = "testhv://";
  if (text.compare(0, prefix.size(), prefix) != 0) {
    auto sep = text.find("://");
    if (sep == std::string::npos)
      return bad(text, "expected testhv://HOST:PORT");
    return bad(text, "unknown hypervisor scheme '" + text.substr(0, sep)
                       + "' (only testhv:// has a native migration manager)");
  }
  auto rest = text.substr(prefix.size());
  if (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.find_first_of("/?#@") != std::string::npos)
    return bad(text, "a hypervisor URI has no path, query or user info");
  hypervisor_uri out{"testhv", {}};
  auto why = parse_hp(rest, 0, out.address);
  if (!why.empty())
    return bad(text, why);
  return out;
}

caf::expected<host_port> parse_migrate_uri(const std::string& text) {
  static const std::string prefix = "tcp://";
  if (text.compare(0, prefix.size(), prefix) != 0)
    return bad(text, "expected a migration URI of the form tcp://HOST[:PORT]");
  auto rest = text.substr(prefix.size());
  if (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  if (rest.find_first_of("/?#@") != std::string::npos)
    return bad(text, "a migration URI has no path, query or user info");
  host_port out;
  auto has_port = rest.find(':') != std::string::npos && rest.back() != ']';
  auto why = parse_hp(has_port ? rest : rest + ":1", 0, out);
  if (!why.empty())
    return bad(text, why);
  if (!has_port)
    out.port = 0;
  return out;
}

caf::expected<std::string> parse_address(const std::string& text) {
  bool no_port = !text.empty()
                 && (text.front() == '[' ? text.back() == ']'
                                         : text.find(':') == std::string::npos);
  auto addr = parse_host_port(text, 1); // 1: a placeholder port
  if (!addr || !no_port)
    return make_error(errc::invalid_argument,
                      "'" + text + "' is not a host name or address");
  return addr->host;
}

bool is_wildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::";
}

} // namespace ferry
