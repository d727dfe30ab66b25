// ferry-stress: load and leak check against three real agents
// (docs/recovery.md, "Load"). `--quick` is the CI version: the same
// concurrency, a 20-second soak.

#include <cstdio>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "tools/harness/cluster.hpp"
#include "tools/stress/stress_runner.hpp"
#include "transport/caf_setup.hpp"
#include "transport/net/net_layer.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

using namespace ferry;

namespace {

const char* usage =
  "usage: ferry-stress [--quick] [--migrations N] [--sessions N] "
  "[--soak SECONDS] [--domain-mib MIB] [--modes p2p,tunnelled,managed]\n"
  "                    [--hold SECONDS] [--keep]\n"
  "  Starts three agents on loopback and runs N concurrent p2p migrations\n"
  "  (default 50), N concurrent client sessions (200) and a soak of random\n"
  "  migrations (600 s; --quick: 20 s), then checks that every domain runs\n"
  "  on exactly one agent and that no agent leaked memory (RSS within 10%\n"
  "  of idle) or descriptors. Exit status 0 only if every check holds.\n"
  "  --hold S waits S seconds with the agents idle before each memory\n"
  "  measurement and prints their pids (to attach gdb or heaptrack).\n";

bool number(const char* text, uint32_t& out) {
  try {
    size_t used = 0;
    auto v = std::stoul(text, &used);
    if (used != std::string{text}.size() || v > 100000)
      return false;
    out = static_cast<uint32_t>(v);
    return true;
  } catch (...) {
    return false;
  }
}

} // namespace

int main(int argc, char** argv) {
  stress::stress_options opts;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](uint32_t& out) {
      if (i + 1 >= argc || !number(argv[++i], out)) {
        std::fprintf(stderr, "error: %s needs a number\n", arg.c_str());
        std::exit(2);
      }
    };
    if (arg == "--quick")
      opts.soak_seconds = 20;
    else if (arg == "--migrations")
      value(opts.migrations);
    else if (arg == "--sessions")
      value(opts.sessions);
    else if (arg == "--soak")
      value(opts.soak_seconds);
    else if (arg == "--hold")
      value(opts.hold_seconds);
    else if (arg == "--insecure-tcp")
      opts.tls = false;
    else if (arg == "--domain-mib")
      value(opts.domain_mib);
    else if (arg == "--modes" && i + 1 < argc) {
      opts.soak_modes.clear();
      std::string list = argv[++i];
      for (size_t at = 0; at <= list.size();) {
        auto end = std::min(list.find(',', at), list.size());
        auto mode = list.substr(at, end - at);
        if (mode != "p2p" && mode != "tunnelled" && mode != "managed") {
          std::fprintf(stderr, "error: --modes takes p2p, tunnelled and "
                               "managed, separated by commas\n");
          return 2;
        }
        opts.soak_modes.push_back(mode);
        at = end + 1;
      }
    } else if (arg == "--keep")
      keep = true;
    else if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      return 0;
    } else {
      std::fprintf(stderr, "error: unknown argument '%s'\n%s", arg.c_str(),
                   usage);
      return 2;
    }
  }
  if (opts.migrations == 0) {
    std::fprintf(stderr, "error: --migrations must be at least 1\n");
    return 2;
  }
  log::setup(log::level::error, "ferry-stress");
  harness::cluster cl{"ferry-stress"};
  if (keep)
    cl.keep();
  auto tls = cl.client_tls();
  caf::actor_system_config cfg;
  configure_caf(cfg, tls, liveness{});
  int failed = 0;
  {
    caf::actor_system sys{cfg};
    auto layer = net_layer::start(sys, &tls, {});
    if (!layer) {
      std::fprintf(stderr, "error: %s\n", error_text(layer.error()).c_str());
      return 1;
    }
    {
      stress::stress_runner runner{sys, cl, tls, opts, std::cout};
      failed = runner.run();
    }
    (*layer)->stop();
  }
  if (failed != 0 && keep)
    std::cout << "(files kept in " << cl.dir() << ")\n";
  return failed == 0 ? 0 : 1;
}
