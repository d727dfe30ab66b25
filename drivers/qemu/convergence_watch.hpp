#pragma once

#include <chrono>
#include <cstdint>

namespace ferry {

/// Decides when a pre-copy migration has stopped converging, by the rule
/// of docs/migration.md: the remaining data must shrink by at least 10%
/// within every progress timeout. QEMU itself would stay `active` forever
/// (docs/caf-and-qemu.md), so the driver watches it.
class convergence_watch {
public:
  using clock = std::chrono::steady_clock;

  /// A timeout of zero disables the watch.
  explicit convergence_watch(std::chrono::milliseconds timeout);

  /// Feeds the bytes still to send at `now`. Returns true once the data
  /// has not shrunk by 10% for a whole timeout. Zero (no estimate yet,
  /// or done) counts as progress.
  bool stalled(uint64_t remaining, clock::time_point now);

  /// Starts a new grace period (after the driver throttled the guest).
  void restart(clock::time_point now);

  /// How long the data has not shrunk enough, at `now`.
  std::chrono::milliseconds since_progress(clock::time_point now) const;

  std::chrono::milliseconds timeout() const {
    return timeout_;
  }

private:
  std::chrono::milliseconds timeout_;
  uint64_t mark_ = 0; ///< Remaining bytes at the last progress.
  clock::time_point mark_time_{};
  bool started_ = false;
};

} // namespace ferry
