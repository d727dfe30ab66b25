#include "drivers/qemu/stall_policy.hpp"

#include <algorithm>

namespace ferry {

stall_step next_stall_step(const stall_input& in) {
  stall_step out;
  auto cap = std::max(stall_downtime_cap_ms, in.asked_downtime_ms);
  if (in.downtime_ms < cap) {
    out.what = stall_step::kind::raise_downtime;
    auto doubled = std::max<uint64_t>(uint64_t{in.downtime_ms} * 2, 1);
    out.downtime_ms = static_cast<uint32_t>(std::min<uint64_t>(doubled, cap));
    return out;
  }
  // Auto-converge: worth another period while QEMU's throttle still rises
  // (or has not started: QEMU throttles after two passes that dirty more
  // than half of what they send).
  if (in.auto_converge && in.throttle < stall_max_throttle
      && (in.throttle_at_last_step == 0
          || in.throttle > in.throttle_at_last_step)) {
    out.what = stall_step::kind::throttle;
    out.throttle_mark = std::max<uint32_t>(in.throttle, 1);
    return out;
  }
  out.what = stall_step::kind::cancel;
  return out;
}

std::string to_string(stall_step::kind k) {
  switch (k) {
    case stall_step::kind::raise_downtime: return "raise-downtime";
    case stall_step::kind::throttle: return "throttle";
    case stall_step::kind::cancel: return "cancel";
  }
  return "?";
}

} // namespace ferry
