#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace ferry::bench {

/// Peak resident memory of some processes while it runs: resets the
/// kernel's high-water mark (clear_refs 5) at start, polls VmRSS every
/// 5 ms, and at stop also reads VmHWM; the larger is the peak.
class rss_sampler {
public:
  explicit rss_sampler(std::vector<pid_t> pids);
  ~rss_sampler();

  /// Stops sampling; returns the peak of each process in KiB.
  std::vector<long> stop();

  /// A status field (e.g. "VmRSS") of a process in KiB, or -1.
  static long status_kib(pid_t pid, const char* field);

private:
  std::vector<pid_t> pids_;
  std::vector<long> peak_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace ferry::bench
