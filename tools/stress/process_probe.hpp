#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace ferry::stress {

/// Resident set size of `pid` in KiB (VmRSS), or 0 if it is gone.
uint64_t rss_kib(pid_t pid);

/// Threads of `pid` (Threads: in /proc/PID/status), or 0.
int threads_of(pid_t pid);

/// Open file descriptors of `pid` (entries of /proc/PID/fd), or -1.
int open_fds(pid_t pid);

/// Samples the RSS of some processes every 100 ms on its own thread and
/// keeps each one's peak, for "during the load" figures.
class peak_sampler {
public:
  explicit peak_sampler(std::vector<pid_t> pids);
  ~peak_sampler();

  peak_sampler(const peak_sampler&) = delete;
  peak_sampler& operator=(const peak_sampler&) = delete;

  /// Stops sampling and returns the peaks (KiB), in the order of `pids`.
  std::vector<uint64_t> stop();

private:
  std::vector<pid_t> pids_;
  std::vector<std::atomic<uint64_t>> peaks_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace ferry::stress
