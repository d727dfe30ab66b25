// ferry-scenario [--netns] FILE…: runs scenario files (docs/scenarios.md).
// Each file gets a fresh cluster of real ferryd processes on loopback, or
// with --netns each in a network namespace of its own. Exit status 0 only
// if every expectation of every file holds.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "tools/harness/cluster.hpp"
#include "tools/scenario/scenario_runner.hpp"
#include "transport/caf_setup.hpp"
#include "transport/net/net_layer.hpp"
#include "util/log.hpp"

using namespace ferry;

int main(int argc, char** argv) {
  bool verbose = false;
  bool keep = false;
  bool netns = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-v" || arg == "--verbose")
      verbose = true;
    else if (arg == "--keep")
      keep = true;
    else if (arg == "--netns")
      netns = true;
    else if (arg == "-h" || arg == "--help") {
      std::cout << "usage: ferry-scenario [--verbose] [--keep] [--netns] "
                   "FILE...\n"
                   "  --netns  each node in its own network namespace "
                   "(root)\n";
      return 0;
    } else
      files.push_back(arg);
  }
  if (files.empty()) {
    std::fprintf(stderr, "error: no scenario files given\n");
    return 2;
  }
  if (netns) {
    // First, while this is the only thread (see netns_prepare_process).
    auto why = harness::netns_unavailable();
    if (why.empty())
      why = harness::netns_prepare_process();
    if (!why.empty()) {
      std::fprintf(stderr, "error: --netns %s\n", why.c_str());
      return 2;
    }
  }
  log::setup(log::level::error, "ferry-scenario");
  int failed = 0;
  int skipped = 0;
  for (auto& file : files) {
    auto t0 = std::chrono::steady_clock::now();
    std::string failure;
    std::string skip;
    {
      // Declared before the cluster: its nodes stop before their
      // namespaces go.
      std::unique_ptr<harness::netns_network> net;
      if (netns)
        net = std::make_unique<harness::netns_network>();
      harness::cluster cl{"ferry-scenario"};
      if (keep)
        cl.keep();
      auto tls = cl.client_tls();
      caf::actor_system_config cfg;
      configure_caf(cfg, tls, liveness{});
      caf::actor_system sys{cfg};
      auto layer = net_layer::start(sys, &tls, {});
      if (!layer) {
        std::fprintf(stderr, "error: %s\n", error_text(layer.error()).c_str());
        return 1;
      }
      {
        scenario::scenario_runner runner{sys, cl, tls, std::cout, verbose,
                                         net.get()};
        failure = runner.run_file(file);
        skip = runner.skipped();
      }
      (*layer)->stop();
      if (!failure.empty() && keep)
        std::cout << "(files kept in " << cl.dir() << ")\n";
    }
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                              - t0)
                  .count();
    if (!skip.empty()) {
      ++skipped;
      std::printf("SKIP %s: %s\n", file.c_str(), skip.c_str());
    } else if (failure.empty()) {
      std::printf("PASS %s (%.1f s)\n", file.c_str(), secs);
    } else {
      ++failed;
      std::printf("FAIL %s (%.1f s)\n%s\n", file.c_str(), secs,
                  failure.c_str());
    }
    std::fflush(stdout);
  }
  std::printf("%zu scenarios, %d failed, %d skipped\n", files.size(), failed,
              skipped);
  return failed == 0 ? 0 : 1;
}
