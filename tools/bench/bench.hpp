#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ferry::bench {

/// One measured figure. `ratio` is value / baseline; what the baseline is
/// and which way is better is in docs/benchmarks.md.
struct result {
  std::string name;
  double value = 0;
  std::string unit;
  std::optional<double> baseline;
  std::string note; ///< Shown in the table only (what value and baseline are).
  std::optional<double> ratio() const {
    if (!baseline || *baseline == 0)
      return std::nullopt;
    return value / *baseline;
  }
};

/// What every benchmark gets from the command line.
struct options {
  bool quick = false;  ///< Smoke-test sizes: the whole run stays < 60 s.
  bool json = false;
};

/// Called once per result as soon as it is measured.
using sink = std::function<void(const result&)>;

/// A benchmark: runs real agents and reports through `out`. Throws
/// std::runtime_error when something it needs fails.
struct benchmark {
  const char* name;
  const char* summary;
  void (*run)(const options&, const sink& out);
};

/// Every benchmark, in the order a full run takes them.
const std::vector<benchmark>& all_benchmarks();

void run_pump_plain(const options& opt, const sink& out);
void run_pump_tls(const options& opt, const sink& out);
void run_qemu_tunnelled(const options& opt, const sink& out);
void run_test_live(const options& opt, const sink& out);
void run_control_latency(const options& opt, const sink& out);
void run_qemu_small(const options& opt, const sink& out);
void run_concurrency(const options& opt, const sink& out);
void run_memory_bound(const options& opt, const sink& out);

} // namespace ferry::bench
