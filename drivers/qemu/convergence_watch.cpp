#include "drivers/qemu/convergence_watch.hpp"

namespace ferry {

convergence_watch::convergence_watch(std::chrono::milliseconds timeout)
  : timeout_(timeout) {
}

bool convergence_watch::stalled(uint64_t remaining, clock::time_point now) {
  if (!started_ || remaining == 0 || remaining < mark_ - mark_ / 10) {
    mark_ = remaining;
    mark_time_ = now;
    started_ = remaining != 0;
    return false;
  }
  // Growing or shrinking by less than 10%: the mark and its clock stay.
  return timeout_.count() > 0 && now - mark_time_ >= timeout_;
}

void convergence_watch::restart(clock::time_point now) {
  mark_time_ = now;
}

std::chrono::milliseconds
convergence_watch::since_progress(clock::time_point now) const {
  if (!started_)
    return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(now
                                                               - mark_time_);
}

} // namespace ferry
