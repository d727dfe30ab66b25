#include "drivers/qemu/stall_policy.hpp"

#include <algorithm>

namespace ferry {

uint64_t estimated_pass_ms(uint64_t remaining_bytes, double mibps) {
  auto mib = static_cast<double>(remaining_bytes) / (1024.0 * 1024.0);
  // Not sending at all: the longest pass (the `sending` check ends it).
  auto ms = mibps > 0 ? mib / mibps * 1000.0
                      : static_cast<double>(stall_max_pass_ms);
  return std::clamp<uint64_t>(static_cast<uint64_t>(std::min(ms, 1e9)),
                              stall_min_pass_ms, stall_max_pass_ms);
}

stall_step next_stall_step(const stall_input& in) {
  stall_step out;
  auto cap = std::max(stall_downtime_cap_ms, in.asked_downtime_ms);
  if (in.downtime_ms < cap) {
    out.what = stall_step::kind::raise_downtime;
    auto doubled = std::max<uint64_t>(uint64_t{in.downtime_ms} * 2, 1);
    out.downtime_ms = static_cast<uint32_t>(std::min<uint64_t>(doubled, cap));
    return out;
  }
  if (in.auto_converge && in.throttle < stall_max_throttle) {
    out.what = stall_step::kind::throttle;
    if (!in.throttling || in.throttle > in.throttle_mark) {
      out.throttle_mark = in.throttle;
      out.rose_at_ms = in.now_ms;
      return out;
    }
    auto patience = stall_throttle_passes
                    * estimated_pass_ms(in.remaining_bytes, in.mibps);
    if (in.sending && in.now_ms < in.rose_at_ms + patience) {
      out.throttle_mark = in.throttle_mark;
      out.rose_at_ms = in.rose_at_ms;
      out.waiting = true;
      return out;
    }
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
