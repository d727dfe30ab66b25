#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/harness/cluster.hpp"

namespace ferry::bench {

/// Milliseconds since `t0` on the steady clock.
double ms_since(std::chrono::steady_clock::time_point t0);

/// Median (upper) and a percentile of samples; both 0 for none.
double median(std::vector<double> xs);
double percentile(std::vector<double> xs, double p);

/// Test-driver domain XML; `dirty_rate` 0 = an idle guest.
std::string test_xml(const std::string& name, unsigned mib,
                     double dirty_rate = 0, unsigned working_set_mib = 0);

/// A harness cluster for benchmarks: real ferryd processes on loopback,
/// the `ferry` CLI, helpers that throw std::runtime_error with the CLI's
/// error and the node's log tail when a step fails. With FERRY_BENCH_KEEP
/// set, its directory (agents' logs, state) is kept.
class bench_cluster {
public:
  explicit bench_cluster(const std::string& label);

  /// Starts an agent: TLS or plain TCP, with the given drivers.
  harness::node& start_node(const std::string& name, bool tls = true,
                            std::vector<std::string> drivers = {"test"});

  /// `ferry -c URI(node, driver) ARGS…`; throws unless it exits 0.
  std::string ok(const std::string& node, std::vector<std::string> args,
                 const std::string& driver = "test");
  /// Same, without the check.
  harness::cli_result run(const std::string& node,
                          std::vector<std::string> args,
                          const std::string& driver = "test");

  /// Writes XML into the cluster directory, defines and starts it.
  void define_and_start(const std::string& node, const std::string& name,
                        const std::string& xml,
                        const std::string& driver = "test");

  /// `ferry --json migrate FLAGS DOM DESTURI` on `src`; returns the result
  /// object (total_ms, downtime_ms, bytes, mode) plus `wall_ms`, the CLI's
  /// wall time measured here.
  nlohmann::json migrate(const std::string& src, const std::string& dst,
                         const std::string& dom,
                         std::vector<std::string> flags,
                         const std::string& driver = "test");

  /// The CLI's argv prefix and environment for running it concurrently
  /// without the harness (which is not thread-safe).
  std::vector<std::string> cli_argv(const std::string& node,
                                    const std::string& driver = "test");
  std::string pki_env();

  harness::cluster& raw() {
    return cl_;
  }
  harness::node& at(const std::string& name) {
    return cl_.at(name);
  }

private:
  harness::cluster cl_;
};

} // namespace ferry::bench
