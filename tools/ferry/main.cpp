// ferry: the command-line client (virsh-like). See README, "CLI reference".

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "util/error.hpp"
#include "tools/cli/commands.hpp"
#include "transport/caf_setup.hpp"
#include "transport/net/net_layer.hpp"
#include "transport/uri.hpp"
#include "util/log.hpp"

using namespace ferry;

namespace {

const char* usage_head =
  "usage: ferry [-c URI] [--tls-cert F --tls-key F --tls-ca F] [--json] "
  "COMMAND [ARGS]\n\n"
  "  -c, --connect URI   agent to talk to (default $FERRY_URI), e.g.\n"
  "                      ferry+tls://host:7700/test or ferry+tcp://host:7700/test\n"
  "  --tls-cert/--tls-key/--tls-ca F\n"
  "                      client certificate, key and CA (default: "
  "$FERRY_PKI_DIR,\n"
  "                      ~/.config/ferry/pki or /etc/ferry/pki)\n"
  "  --json              machine-readable output\n\n"
  "commands:\n";

int usage_error(const std::string& text) {
  std::fprintf(stderr, "error: %s\n", text.c_str());
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  // Errors reach the user as one `error: …` line; internal logs only on
  // request (FERRY_LOG=info|debug).
  auto lvl = log::level::error;
  if (auto* env = std::getenv("FERRY_LOG"))
    log::parse_level(env, lvl);
  log::setup(lvl, "ferry");
  client_settings settings;
  if (auto* env = std::getenv("FERRY_URI"))
    settings.uri = env;
  std::vector<std::string> words;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    if (arg == "-c" || arg == "--connect") {
      if (!value(settings.uri))
        return usage_error(arg + " needs a URI");
    } else if (arg == "--tls-cert") {
      if (!value(settings.tls.cert))
        return usage_error("--tls-cert needs a file");
    } else if (arg == "--tls-key") {
      if (!value(settings.tls.key))
        return usage_error("--tls-key needs a file");
    } else if (arg == "--tls-ca") {
      if (!value(settings.tls.ca))
        return usage_error("--tls-ca needs a file");
    } else if (arg == "--json") {
      settings.json = true;
    } else if (arg == "-h" || arg == "--help" || arg == "help") {
      std::cout << usage_head << cli::help_text();
      return 0;
    } else if (arg == "--version") {
      std::cout << "ferry " FERRY_VERSION "\n";
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("unknown option " + arg + " (try --help)");
    } else {
      break;
    }
  }
  words.assign(argv + i, argv + argc);
  if (words.empty())
    return usage_error("no command given (try --help)");
  // Validate cheap things before starting the network layer.
  if (!settings.uri.empty()) {
    auto uri = parse_agent_uri(settings.uri);
    if (!uri)
      return usage_error(error_text(uri.error()));
    if (uri->tls)
      if (auto err = resolve_client_tls(settings.tls))
        return usage_error(error_text(err));
  } else if (!settings.tls.empty()) {
    if (auto err = settings.tls.check_complete())
      return usage_error(error_text(err));
  }
  caf::actor_system_config cfg;
  configure_caf(cfg, settings.tls, liveness{});
  caf::actor_system sys{cfg};
  // ferry's transport, with mutual TLS when we have certificate files.
  // Declared after `sys`, so it stops first (and does not wait for a frozen
  // agent).
  net_layer::options net_opts;
  net_opts.handshake_timeout = settings.connect_timeout;
  auto layer = net_layer::start(
    sys, settings.tls.complete() ? &settings.tls : nullptr, net_opts);
  if (!layer && settings.tls.complete()
      && !(settings.uri.empty() || parse_agent_uri(settings.uri)->tls))
    layer = net_layer::start(sys, nullptr, net_opts); // ferry+tcp only
  if (!layer) {
    std::fprintf(stderr, "error: %s\n", error_text(layer.error()).c_str());
    return 1;
  }
  std::unique_ptr<net_layer> net = std::move(*layer);
  caf::error err;
  {
    cli::context ctx{sys, settings, std::cout};
    err = cli::run_command(ctx, words);
    std::cout.flush();
  }
  if (err) {
    std::fprintf(stderr, "error: %s\n", error_text(err).c_str());
    return code_of(err) == errc::invalid_argument ? 2 : 1;
  }
  return 0;
}
