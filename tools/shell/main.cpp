// ferry-shell -c URI: an interactive actor shell for operators (see
// docs/shell.md). With a terminal it offers line editing, history and
// completion; otherwise it reads commands line by line (scriptable).

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <editline/readline.h>
#include <unistd.h>

#include "messages/all.hpp"
#include "tools/cli/cli_context.hpp"
#include "tools/lang/interpreter.hpp"
#include "tools/shell/shell_verbs.hpp"
#include "transport/caf_setup.hpp"
#include "transport/net/net_layer.hpp"
#include "util/log.hpp"

using namespace ferry;

namespace {

lang::interpreter* g_interp = nullptr;
cli::context* g_ctx = nullptr;
std::vector<std::string> g_candidates;

char* next_candidate(const char* text, int state) {
  static size_t index;
  if (state == 0)
    index = 0;
  std::string prefix = text;
  while (index < g_candidates.size()) {
    auto& c = g_candidates[index++];
    if (c.compare(0, prefix.size(), prefix) == 0)
      return strdup(c.c_str());
  }
  return nullptr;
}

/// Completes verbs in first position, domain names after.
char** complete(const char* text, int start, int) {
  g_candidates.clear();
  if (start == 0) {
    g_candidates = g_interp->verbs();
  } else if (auto doms = g_ctx->call<std::vector<domain_info>>(
               list_domains{true})) {
    for (auto& d : *doms)
      g_candidates.push_back(d.name);
  }
  rl_attempted_completion_over = 1;
  return rl_completion_matches(text, next_candidate);
}

std::string history_file() {
  auto* home = std::getenv("HOME");
  return std::string{home != nullptr ? home : "."} + "/.ferry_shell_history";
}

} // namespace

int main(int argc, char** argv) {
  log::setup(log::level::error, "ferry-shell");
  client_settings settings;
  if (auto* env = std::getenv("FERRY_URI"))
    settings.uri = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "error: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      out = argv[++i];
    };
    if (arg == "-c" || arg == "--connect")
      value(settings.uri);
    else if (arg == "--tls-cert")
      value(settings.tls.cert);
    else if (arg == "--tls-key")
      value(settings.tls.key);
    else if (arg == "--tls-ca")
      value(settings.tls.ca);
    else if (arg == "-h" || arg == "--help") {
      std::cout << "usage: ferry-shell [-c URI] [--tls-cert F --tls-key F "
                   "--tls-ca F]\n";
      return 0;
    } else {
      std::fprintf(stderr, "error: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (auto err = resolve_client_tls(settings.tls)) {
    std::fprintf(stderr, "error: %s\n", error_text(err).c_str());
    return 2;
  }
  caf::actor_system_config cfg;
  configure_caf(cfg, settings.tls, liveness{});
  caf::actor_system sys{cfg};
  net_layer::options net_opts;
  net_opts.handshake_timeout = settings.connect_timeout;
  auto layer = net_layer::start(
    sys, settings.tls.complete() ? &settings.tls : nullptr, net_opts);
  if (!layer) {
    std::fprintf(stderr, "error: %s\n", error_text(layer.error()).c_str());
    return 1;
  }
  std::unique_ptr<net_layer> net = std::move(*layer);
  int failures = 0;
  {
    cli::context ctx{sys, settings, std::cout};
    lang::interpreter interp;
    shell::add_verbs(interp, ctx);
    auto run = [&](const std::string& line) {
      if (auto err = interp.run(line)) {
        std::cout.flush();
        std::fprintf(stderr, "error: %s\n", error_text(err).c_str());
        ++failures;
      }
      std::cout.flush();
    };
    if (::isatty(STDIN_FILENO) == 1) {
      g_interp = &interp;
      g_ctx = &ctx;
      rl_attempted_completion_function = complete;
      auto hist = history_file();
      read_history(hist.c_str());
      std::cout << "ferry-shell: 'help' lists commands, 'quit' leaves\n";
      for (;;) {
        char* raw = readline("ferry> ");
        if (raw == nullptr)
          break;
        std::string line = raw;
        std::free(raw);
        if (line == "quit" || line == "exit")
          break;
        if (line.find_first_not_of(" \t") == std::string::npos)
          continue;
        add_history(line.c_str());
        run(line);
      }
      write_history(hist.c_str());
      std::cout << "\n";
    } else {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (line == "quit" || line == "exit")
          break;
        run(line);
      }
    }
  }
  return failures == 0 ? 0 : 1;
}
