#pragma once

#include <cstdint>
#include <string>

namespace ferry {

/// What the qemu driver does when a migration stops converging (the
/// convergence watch saw no 10% reduction for a progress timeout), in the
/// order libvirt users apply it by hand:
///
/// 1. Raise QEMU's `downtime-limit`: double it per stall, up to
///    `stall_downtime_cap_ms` (or the limit asked for, if that is higher).
///    A longer final pause lets a guest whose working set is too big for
///    the bandwidth switch over.
/// 2. With `--auto-converge`: QEMU throttles the vCPUs itself (30%, then
///    +20% per pass that still dirties too much, up to 99%). A stall in
///    which the throttle rose is given another period.
/// 3. Cancel, with an error that says what was tried.
///
/// Pure: the driver feeds it what it knows and applies the answer.
struct stall_input {
  uint32_t downtime_ms = 0;    ///< The downtime limit now.
  uint32_t asked_downtime_ms = 0; ///< What the job asked for.
  bool auto_converge = false;
  uint32_t throttle = 0;       ///< QEMU's cpu-throttle-percentage now.
  /// The throttle at the previous throttle step (0: none yet).
  uint32_t throttle_at_last_step = 0;
};

struct stall_step {
  enum class kind : uint8_t { raise_downtime, throttle, cancel };
  kind what = kind::cancel;
  uint32_t downtime_ms = 0; ///< raise_downtime: the new limit.
  /// throttle: what to pass as `throttle_at_last_step` next time (the
  /// throttle now, at least 1 so that a throttle that never starts ends in
  /// cancel at the next stall).
  uint32_t throttle_mark = 0;
};

/// Raised downtime limits stop here (unless the job asked for more).
constexpr uint32_t stall_downtime_cap_ms = 2000;
/// QEMU's `max-cpu-throttle` default: the throttle does not go higher.
constexpr uint32_t stall_max_throttle = 99;

stall_step next_stall_step(const stall_input& in);

std::string to_string(stall_step::kind k);

} // namespace ferry
