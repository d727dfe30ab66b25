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
///    +20% per pass that still dirties too much, up to 99%). QEMU decides
///    only at the end of a pass (a dirty sync), and a pass at a low
///    bandwidth can outlast several progress timeouts, so the throttle is
///    given time while it rises, and otherwise for three passes since it
///    last rose: QEMU raises it after two periods in a row (each at least
///    a second, ending at a dirty sync, i.e. a pass) that dirty more than
///    half of what they send. A pass is estimated as the RAM still to send
///    over the sending rate, between 1 and 30 s, and the wait ends as soon
///    as a whole period sends nothing.
/// 3. Cancel, with an error that says what was tried.
///
/// Pure: the driver feeds it what it knows and applies the answer.
struct stall_input {
  uint32_t downtime_ms = 0;    ///< The downtime limit now.
  uint32_t asked_downtime_ms = 0; ///< What the job asked for.
  bool auto_converge = false;
  uint32_t throttle = 0;       ///< QEMU's cpu-throttle-percentage now.
  uint64_t now_ms = 0;         ///< A monotonic clock.
  uint64_t remaining_bytes = 0; ///< RAM still to send now.
  double mibps = 0;            ///< The sending rate now.
  /// Bytes were sent since the previous stall step: a transfer that moved
  /// nothing for a whole period is not waited for.
  bool sending = true;
  /// From the previous throttle step (`throttling` false: none yet).
  bool throttling = false;
  uint32_t throttle_mark = 0;  ///< The throttle when it last rose.
  uint64_t rose_at_ms = 0;     ///< When it last rose (`now_ms`).
};

struct stall_step {
  enum class kind : uint8_t { raise_downtime, throttle, cancel };
  kind what = kind::cancel;
  uint32_t downtime_ms = 0; ///< raise_downtime: the new limit.
  /// throttle: the marks to pass back as `throttle_mark`/`rose_at_ms`.
  uint32_t throttle_mark = 0;
  uint64_t rose_at_ms = 0;
  /// throttle: the throttle did not rise; waiting for QEMU's next pass.
  bool waiting = false;
};

/// Raised downtime limits stop here (unless the job asked for more).
constexpr uint32_t stall_downtime_cap_ms = 2000;
/// QEMU's `max-cpu-throttle` default: the throttle does not go higher.
constexpr uint32_t stall_max_throttle = 99;
/// Passes the throttle may stay flat before the policy gives up.
constexpr uint64_t stall_throttle_passes = 3;
/// Bounds of the pass estimate (ms).
constexpr uint64_t stall_min_pass_ms = 1000;
constexpr uint64_t stall_max_pass_ms = 30000;

/// How long a pass takes now: `remaining_bytes` at `mibps`, bounded.
uint64_t estimated_pass_ms(uint64_t remaining_bytes, double mibps);

stall_step next_stall_step(const stall_input& in);

std::string to_string(stall_step::kind k);

} // namespace ferry
