#include "drivers/qemu/convergence_watch.hpp"

#include <gtest/gtest.h>

using namespace ferry;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t mib = 1024 * 1024;

} // namespace

TEST(convergence_watch, steady_progress_never_stalls) {
  convergence_watch w{1000ms};
  auto t = convergence_watch::clock::time_point{} + 1h;
  for (uint64_t left = 256; left > 8; left = left * 8 / 10, t += 900ms)
    EXPECT_FALSE(w.stalled(left * mib, t));
}

TEST(convergence_watch, a_plateau_stalls_after_the_timeout) {
  convergence_watch w{1000ms};
  auto t = convergence_watch::clock::time_point{} + 1h;
  EXPECT_FALSE(w.stalled(64 * mib, t));
  // Wobbling within 10% of the mark is no progress.
  EXPECT_FALSE(w.stalled(60 * mib, t + 400ms));
  EXPECT_FALSE(w.stalled(66 * mib, t + 800ms));
  EXPECT_TRUE(w.stalled(62 * mib, t + 1000ms));
  EXPECT_EQ(w.since_progress(t + 1000ms), 1000ms);
}

TEST(convergence_watch, a_new_low_restarts_the_clock) {
  convergence_watch w{1000ms};
  auto t = convergence_watch::clock::time_point{} + 1h;
  EXPECT_FALSE(w.stalled(100 * mib, t));
  EXPECT_FALSE(w.stalled(89 * mib, t + 900ms));
  EXPECT_FALSE(w.stalled(88 * mib, t + 1800ms));
  EXPECT_TRUE(w.stalled(88 * mib, t + 1900ms));
  w.restart(t + 1900ms);
  EXPECT_FALSE(w.stalled(88 * mib, t + 2800ms));
}

TEST(convergence_watch, zero_remaining_is_progress_and_zero_timeout_disables) {
  convergence_watch w{1000ms};
  auto t = convergence_watch::clock::time_point{} + 1h;
  EXPECT_FALSE(w.stalled(0, t));
  EXPECT_FALSE(w.stalled(0, t + 5s));
  convergence_watch off{0ms};
  EXPECT_FALSE(off.stalled(64 * mib, t));
  EXPECT_FALSE(off.stalled(64 * mib, t + 1h));
}
