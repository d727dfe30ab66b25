#pragma once

#include <cstdint>
#include <string>

namespace ferry::testhv {

/// Phase of one hypervisor-level migration, named as QEMU names them.
enum class mig_status {
  none,      ///< No migration yet.
  setup,     ///< Connecting, authenticating, writing the header.
  active,    ///< Pre-copy passes (or receiving).
  device,    ///< Guest paused, final pages and digest (stop-and-copy).
  completed, ///< Receiver verified the digest.
  failed,
  cancelled,
};

const char* to_string(mig_status s);

/// Knobs of an outgoing migration; may change while it runs.
struct mig_params {
  bool live = true;
  uint64_t max_bandwidth = 0;        ///< Bytes per second; 0 = unlimited.
  uint32_t downtime_limit_ms = 300;  ///< Switch over when the rest fits.
  uint32_t progress_timeout_ms = 10000; ///< No new low of remaining bytes for
                                        ///< this long = stalled; 0 = never.
  bool auto_converge = false;        ///< Stalled: throttle instead of failing.
  uint32_t io_timeout_ms = 30000;    ///< Bound on any single read or write.
};

/// A snapshot of a migration's progress.
struct mig_stats {
  mig_status status = mig_status::none;
  uint64_t total_bytes = 0;       ///< Guest RAM size.
  uint64_t transferred_bytes = 0; ///< Stream bytes sent or received.
  uint64_t remaining_bytes = 0;   ///< Dirty bytes still to send.
  uint64_t iteration = 0;         ///< Completed pre-copy passes.
  uint64_t dirty_pages_rate = 0;  ///< Pages dirtied per second: the last
                                  ///< pass, or this one so far (every 100 ms).
  double mbps = 0;                ///< MiB/s: the last pass, or this one so far.
  uint64_t expected_downtime_ms = 0;
  uint64_t downtime_ms = 0;       ///< Source: pause to receiver's verdict.
  uint64_t total_time_ms = 0;
  int64_t paused_at_ms = 0;       ///< Unix ms when the guest was paused.
  unsigned throttle = 0;          ///< Auto-converge throttle, percent.
  bool was_running = false;       ///< Guest ran when migration started.
  std::string error;
};

} // namespace ferry::testhv
