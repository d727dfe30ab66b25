#pragma once

#include <vector>

#include <sys/types.h>

namespace ferry::bench {

/// CPU time the kernel accounted, between construction and the calls
/// below, to some processes (all of their threads, not their children) and
/// to the whole machine: what a benchmark's wall time was spent on. Read
/// from /proc/PID/stat and /proc/stat.
class cpu_usage {
public:
  explicit cpu_usage(std::vector<pid_t> pids);

  /// CPU milliseconds the processes used since construction.
  double process_ms() const;

  /// Share (0..1) of all CPUs' time since construction that was not idle.
  double machine_busy() const;

private:
  struct machine_ticks {
    unsigned long long busy = 0;
    unsigned long long total = 0;
  };
  static machine_ticks read_machine();

  std::vector<pid_t> pids_;
  std::vector<double> start_; ///< CPU seconds at construction, -1: unknown.
  machine_ticks machine_start_;
};

} // namespace ferry::bench
