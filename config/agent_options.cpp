#include "config/agent_options.hpp"

#include <fstream>
#include <sstream>

#include <boost/program_options.hpp>
#include <unistd.h>

#include "config/acl_parse.hpp"
#include "config/po_error.hpp"
#include "util/error.hpp"
#include "util/names.hpp"
#include "util/log.hpp"

namespace po = boost::program_options;

namespace ferry {

std::string agent_settings::uri() const {
  return std::string{insecure_tcp ? "ferry+tcp://" : "ferry+tls://"}
         + listen.to_string();
}

namespace {

po::options_description describe_options() {
  po::options_description desc{"ferryd options"};
  // clang-format off
  desc.add_options()
    ("help,h", "print this help and exit")
    ("version", "print the version and exit")
    ("config", po::value<std::string>(), "INI file with any of these options")
    ("name", po::value<std::string>(), "agent name (default: host name)")
    ("listen", po::value<std::string>()->default_value("127.0.0.1:7700"),
     "HOST:PORT to accept clients and peer agents on")
    ("state-dir", po::value<std::string>(),
     "directory for definitions and journals (required)")
    ("driver", po::value<std::vector<std::string>>()->composing(),
     "hypervisor driver to run: test or qemu (repeat for several)")
    ("tls-cert", po::value<std::string>(), "agent certificate (PEM)")
    ("tls-key", po::value<std::string>(), "agent private key (PEM)")
    ("tls-ca", po::value<std::string>(), "CA certificate that signs peers")
    ("insecure-tcp", po::bool_switch(), "accept plain TCP without TLS")
    ("log-level", po::value<std::string>()->default_value("info"),
     "error, warning, info or debug")
    ("acl", po::value<std::vector<std::string>>()->composing(),
     "PATTERN=ROLE[,ROLE]: certificate names (wildcards) and their roles")
    ("acl-default", po::value<std::string>(),
     "ROLE[,ROLE] for names no --acl rule matches (lab use; without it they "
     "are refused)")
    ("max-sessions", po::value<uint32_t>(), "concurrent sessions")
    ("max-sessions-per-peer", po::value<uint32_t>(), "sessions per identity")
    ("max-jobs", po::value<uint32_t>(), "concurrent migration jobs")
    ("login-timeout-ms", po::value<uint32_t>(),
     "close a connection that has not logged in after this long")
    ("max-pending-connections", po::value<uint32_t>(),
     "connections not logged in yet, in all (the oldest makes room)")
    ("max-pending-per-address", po::value<uint32_t>(),
     "connections not logged in yet, from one address")
    ("journal-keep", po::value<uint32_t>(),
     "finished destination jobs remembered for outcome queries")
    ("testhv-listen", po::value<std::string>(),
     "HOST:PORT of the test hypervisor daemon (default: listen port + 1)")
    ("testhv-secret-file", po::value<std::string>(),
     "shared secret of the test hypervisors (direct migration)")
    ("testhv-binary", po::value<std::string>(), "path to ferry-testhv")
    ("qemu-binary", po::value<std::string>(), "QEMU executable")
    ("migration-address", po::value<std::string>(),
     "address a destination hypervisor listens on for native migrations "
     "(default: the --listen host)")
    ("migration-host", po::value<std::string>(),
     "address sources connect to for native migrations (default: the "
     "migration address, or with a wildcard the host in the URI the source "
     "was given)")
    ("heartbeat-ms", po::value<uint32_t>(), "heartbeat interval")
    ("connection-timeout-ms", po::value<uint32_t>(),
     "drop a peer silent this long")
    ("request-timeout-ms", po::value<uint32_t>(), "bound on remote requests")
    ("fault-injection", po::bool_switch(),
     "allow admins to arm fault points (tests and scenarios only)");
  // clang-format on
  return desc;
}

template <class T>
void take(const po::variables_map& vm, const char* key, T& out) {
  if (vm.count(key))
    out = vm[key].as<T>();
}

/// --migration-address and --migration-host: addresses without a port.
caf::error take_addresses(const po::variables_map& vm, agent_settings& s) {
  for (auto [key, out] : {std::pair{"migration-address", &s.migration_address},
                          std::pair{"migration-host", &s.migration_host}}) {
    if (!vm.count(key))
      continue;
    auto addr = parse_address(vm[key].as<std::string>());
    if (!addr)
      return make_error(errc::config_error, std::string{"--"} + key + ": "
                                              + error_text(addr.error()));
    *out = *addr;
  }
  return caf::none;
}

caf::error validate(agent_settings& s) {
  if (s.state_dir.empty())
    return make_error(errc::config_error,
                      "--state-dir is required (where definitions live)");
  if (s.limits.max_sessions == 0 || s.limits.max_sessions_per_peer == 0
      || s.limits.max_pending_connections == 0
      || s.limits.max_pending_per_address == 0 || s.limits.login_timeout_ms == 0)
    return make_error(errc::config_error,
                      "session and connection limits must be at least 1");
  if (s.limits.journal_keep == 0)
    return make_error(errc::config_error,
                      "--journal-keep must be at least 1 (a destination "
                      "must remember a commit until its source asks)");
  if (s.name.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    s.name = host;
  }
  for (char c : s.name)
    if (!is_name_char(c))
      return make_error(errc::config_error,
                        "--name may hold letters, digits, '-', '_' and '.'");
  if (s.drivers.empty())
    s.drivers = {"test"};
  for (auto& d : s.drivers)
    if (d != "test" && d != "qemu")
      return make_error(errc::config_error, "unknown driver '" + d
                                              + "' (available: test, qemu)");
  for (size_t i = 0; i < s.drivers.size(); ++i)
    for (size_t j = i + 1; j < s.drivers.size(); ++j)
      if (s.drivers[i] == s.drivers[j])
        return make_error(errc::config_error,
                          "driver '" + s.drivers[i] + "' given twice");
  log::level lvl;
  if (!log::parse_level(s.log_level, lvl))
    return make_error(errc::config_error,
                      "--log-level must be error, warning, info or debug");
  if (s.insecure_tcp && !s.tls.empty())
    return make_error(errc::config_error,
                      "--insecure-tcp and --tls-* exclude each other");
  if (!s.insecure_tcp) {
    if (s.tls.empty())
      return make_error(errc::config_error,
                        "no TLS settings: give --tls-cert, --tls-key and "
                        "--tls-ca, or --insecure-tcp for plain TCP");
    if (auto err = s.tls.check_complete())
      return err;
  }
  if (s.testhv.listen.host.empty())
    s.testhv.listen.host = s.listen.host;
  return caf::none;
}

/// Parses `args` and the INI text from `config`, or, if that is null, from
/// the file `--config` names.
caf::expected<agent_command> parse(const std::vector<std::string>& args,
                                   std::istream* config) {
  auto desc = describe_options();
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (config != nullptr) {
      po::store(po::parse_config_file(*config, desc), vm);
    } else if (vm.count("config")) {
      auto path = vm["config"].as<std::string>();
      std::ifstream in{path};
      if (!in)
        return make_error(errc::config_error,
                          "cannot read config file " + path);
      po::store(po::parse_config_file(in, desc), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return make_error(errc::config_error, po_error_text(e));
  }
  agent_command cmd;
  if (vm.count("help")) {
    std::ostringstream os;
    os << "usage: ferryd --state-dir DIR [--listen HOST:PORT] "
          "[--tls-cert F --tls-key F --tls-ca F | --insecure-tcp]\n"
       << desc;
    cmd.exit_early = true;
    cmd.text = os.str();
    return cmd;
  }
  if (vm.count("version")) {
    cmd.exit_early = true;
    cmd.text = "ferryd " FERRY_VERSION "\n";
    return cmd;
  }
  auto& s = cmd.settings;
  take(vm, "name", s.name);
  take(vm, "state-dir", s.state_dir);
  take(vm, "driver", s.drivers);
  take(vm, "tls-cert", s.tls.cert);
  take(vm, "tls-key", s.tls.key);
  take(vm, "tls-ca", s.tls.ca);
  s.insecure_tcp = vm["insecure-tcp"].as<bool>();
  s.fault_injection = vm["fault-injection"].as<bool>();
  take(vm, "log-level", s.log_level);
  take(vm, "max-sessions", s.limits.max_sessions);
  take(vm, "max-sessions-per-peer", s.limits.max_sessions_per_peer);
  take(vm, "max-jobs", s.limits.max_jobs);
  take(vm, "login-timeout-ms", s.limits.login_timeout_ms);
  take(vm, "max-pending-connections", s.limits.max_pending_connections);
  take(vm, "max-pending-per-address", s.limits.max_pending_per_address);
  take(vm, "journal-keep", s.limits.journal_keep);
  take(vm, "testhv-secret-file", s.testhv.secret_file);
  take(vm, "testhv-binary", s.testhv.binary);
  take(vm, "qemu-binary", s.qemu_binary);
  if (auto err = take_addresses(vm, s))
    return err;
  auto ms = [&](const char* key, std::chrono::milliseconds& out) {
    if (vm.count(key))
      out = std::chrono::milliseconds{vm[key].as<uint32_t>()};
  };
  ms("heartbeat-ms", s.heartbeat);
  ms("connection-timeout-ms", s.connection_timeout);
  ms("request-timeout-ms", s.request_timeout);
  auto listen = parse_host_port(vm["listen"].as<std::string>());
  if (!listen)
    return make_error(errc::config_error,
                      "--listen: " + error_text(listen.error()));
  s.listen = std::move(*listen);
  if (vm.count("testhv-listen")) {
    auto hv = parse_host_port(vm["testhv-listen"].as<std::string>());
    if (!hv)
      return make_error(errc::config_error,
                        "--testhv-listen: " + error_text(hv.error()));
    s.testhv.listen = std::move(*hv);
  } else {
    s.testhv.listen = {s.listen.host, 0};
  }
  if (vm.count("acl")) {
    for (auto& text : vm["acl"].as<std::vector<std::string>>()) {
      auto rule = parse_acl_rule(text);
      if (!rule)
        return rule.error();
      s.acl.push_back(std::move(*rule));
    }
  }
  if (vm.count("acl-default")) {
    auto text = vm["acl-default"].as<std::string>();
    auto rule = parse_acl_rule("*=" + text);
    if (!rule)
      return make_error(errc::config_error,
                        "--acl-default '" + text
                          + "': expected ROLE[,ROLE] of read, admin, peer");
    s.acl_default = std::move(rule->roles);
  }
  if (auto err = validate(s))
    return err;
  return cmd;
}

} // namespace

caf::expected<agent_command> parse_agent_options(
  const std::vector<std::string>& args) {
  return parse(args, nullptr);
}

caf::expected<agent_command> parse_agent_options(
  const std::vector<std::string>& args, std::istream& config) {
  return parse(args, &config);
}

} // namespace ferry
