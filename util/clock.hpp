#pragma once

#include <chrono>
#include <cstdint>

namespace ferry {

/// Wall-clock time in Unix milliseconds (events, journal records, resume
/// times compared across hosts).
inline int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Milliseconds of the monotonic clock since `t` (durations).
inline uint64_t ms_since(std::chrono::steady_clock::time_point t) {
  using namespace std::chrono;
  return static_cast<uint64_t>(
    duration_cast<milliseconds>(steady_clock::now() - t).count());
}

} // namespace ferry
