#include "drivers/qemu/stall_policy.hpp"

#include <vector>

#include <gtest/gtest.h>

using namespace ferry;

namespace {

using kind = stall_step::kind;

/// Runs the policy from `in` as the driver does, one stall per second,
/// QEMU's throttle following `throttles` (one value per stall) and a pass
/// taking `pass_ms` (the RAM still to send at 16 MiB/s), until it cancels;
/// returns the steps.
std::vector<stall_step> run(stall_input in, std::vector<uint32_t> throttles,
                            uint64_t pass_ms = 1000) {
  std::vector<stall_step> out;
  in.mibps = 16;
  in.remaining_bytes = (16u << 20) * pass_ms / 1000;
  for (size_t i = 0; i < 32; ++i) {
    in.throttle = i < throttles.size() ? throttles[i] : throttles.back();
    in.now_ms = 1000 * (i + 1);
    auto step = next_stall_step(in);
    out.push_back(step);
    if (step.what == kind::raise_downtime) {
      in.downtime_ms = step.downtime_ms;
    } else if (step.what == kind::throttle) {
      in.throttling = true;
      in.throttle_mark = step.throttle_mark;
      in.rose_at_ms = step.rose_at_ms;
    } else {
      break;
    }
  }
  return out;
}

} // namespace

TEST(stall_policy, doubles_the_downtime_up_to_the_cap_then_cancels) {
  stall_input in;
  in.downtime_ms = in.asked_downtime_ms = 300;
  auto steps = run(in, {0});
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].what, kind::raise_downtime);
  EXPECT_EQ(steps[0].downtime_ms, 600u);
  EXPECT_EQ(steps[1].downtime_ms, 1200u);
  EXPECT_EQ(steps[2].downtime_ms, stall_downtime_cap_ms);
  EXPECT_EQ(steps[3].what, kind::cancel);
}

TEST(stall_policy, a_limit_above_the_cap_is_never_lowered_nor_raised) {
  stall_input in;
  in.downtime_ms = in.asked_downtime_ms = 5000;
  auto step = next_stall_step(in);
  EXPECT_EQ(step.what, kind::cancel);
  // Raised by hand during the job (migrate-setmaxdowntime) above the cap.
  in.asked_downtime_ms = 300;
  EXPECT_EQ(next_stall_step(in).what, kind::cancel);
}

TEST(stall_policy, a_zero_limit_still_grows) {
  stall_input in;
  auto step = next_stall_step(in);
  EXPECT_EQ(step.what, kind::raise_downtime);
  EXPECT_EQ(step.downtime_ms, 1u);
}

TEST(stall_policy, auto_converge_throttles_after_the_downtime_while_qemu_raises_it) {
  stall_input in;
  in.downtime_ms = in.asked_downtime_ms = 1000;
  in.auto_converge = true;
  // QEMU's steps: 30%, +20% per pass, capped at 99%.
  auto steps = run(in, {0, 30, 50, 70, 90, 99});
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0].what, kind::raise_downtime);
  EXPECT_EQ(steps[0].downtime_ms, 2000u);
  for (size_t i = 1; i < 5; ++i)
    EXPECT_EQ(steps[i].what, kind::throttle) << i;
  EXPECT_EQ(steps[5].what, kind::cancel) << "99% and still stalled";
}

TEST(stall_policy, a_throttle_that_does_not_rise_ends_in_cancel) {
  stall_input in;
  in.downtime_ms = in.asked_downtime_ms = stall_downtime_cap_ms;
  in.auto_converge = true;
  // Never started: three passes of grace (QEMU starts after two passes
  // that dirty too much), then cancel. A pass takes a second here.
  auto steps = run(in, {0});
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[0].what, kind::throttle);
  EXPECT_FALSE(steps[0].waiting);
  EXPECT_EQ(steps[1].what, kind::throttle);
  EXPECT_TRUE(steps[1].waiting);
  EXPECT_TRUE(steps[2].waiting);
  EXPECT_EQ(steps[3].what, kind::cancel);
  // Stuck at 50%.
  steps = run(in, {50, 50});
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[3].what, kind::cancel);
}

TEST(stall_policy, a_pass_longer_than_the_progress_timeout_is_waited_for) {
  stall_input in;
  in.downtime_ms = in.asked_downtime_ms = stall_downtime_cap_ms;
  in.auto_converge = true;
  // A pass takes 3 s, three stalls: QEMU raises the throttle at the end of
  // passes only (30% after the second, 50% after the third), and each rise
  // buys three more passes.
  std::vector<uint32_t> throttles{0, 0, 0, 0, 0, 0, 30, 30, 30, 50};
  auto steps = run(in, throttles, 3000);
  for (size_t i = 0; i < throttles.size(); ++i)
    EXPECT_EQ(steps[i].what, kind::throttle) << i;
  EXPECT_EQ(steps[6].rose_at_ms, 7000u);
  EXPECT_EQ(steps[9].throttle_mark, 50u);
  // Flat at 50% from 10 s: cancelled at 19 s.
  ASSERT_EQ(steps.size(), 19u);
  EXPECT_EQ(steps[18].what, kind::cancel);
}

TEST(stall_policy, the_pass_estimate_is_bounded) {
  EXPECT_EQ(estimated_pass_ms(32u << 20, 16), 2000u);
  EXPECT_EQ(estimated_pass_ms(1u << 20, 16), stall_min_pass_ms);
  EXPECT_EQ(estimated_pass_ms(uint64_t{1} << 40, 1), stall_max_pass_ms);
  EXPECT_EQ(estimated_pass_ms(1u << 20, 0), stall_max_pass_ms);
}

TEST(stall_policy, a_transfer_that_sends_nothing_is_not_waited_for) {
  stall_input in;
  in.downtime_ms = in.asked_downtime_ms = stall_downtime_cap_ms;
  in.auto_converge = true;
  in.throttling = true;
  in.throttle = in.throttle_mark = 30;
  in.sending = false;
  EXPECT_EQ(next_stall_step(in).what, kind::cancel);
  in.sending = true;
  EXPECT_TRUE(next_stall_step(in).waiting);
}

TEST(stall_policy, without_auto_converge_no_throttle_step) {
  stall_input in;
  in.downtime_ms = in.asked_downtime_ms = stall_downtime_cap_ms;
  in.throttle = 30;
  EXPECT_EQ(next_stall_step(in).what, kind::cancel);
}
