#include "drivers/test/hv/guest.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

using namespace ferry;
using namespace ferry::testhv;

namespace {

domain_definition small_def(double rate = 0) {
  domain_definition def;
  def.type = "test";
  def.name = "g";
  def.uuid = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
  def.memory_bytes = 8u << 20;
  def.dirty_rate_mibps = rate;
  return def;
}

} // namespace

TEST(guest, ram_is_filled_deterministically_from_the_uuid) {
  guest a{small_def(), true};
  guest b{small_def(), true};
  EXPECT_EQ(a.digest(), b.digest());
  auto other = small_def();
  other.uuid = "00000000-0000-4000-8000-000000000000";
  guest c{other, true};
  EXPECT_NE(a.digest(), c.digest());
  guest zero{small_def(), false};
  EXPECT_NE(a.digest(), zero.digest());
}

TEST(guest, workload_dirties_pages_while_running) {
  guest g{small_def(64), true};
  auto before = g.digest();
  g.resume();
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  g.pause();
  EXPECT_GT(g.pages_written(), 0u);
  EXPECT_GT(g.dirty_count(), 0u);
  EXPECT_NE(g.digest(), before);
}

TEST(guest, paused_guest_does_not_change) {
  guest g{small_def(64), true};
  g.resume();
  std::this_thread::sleep_for(std::chrono::milliseconds{30});
  g.pause();
  auto frozen = g.digest();
  auto written = g.pages_written();
  std::this_thread::sleep_for(std::chrono::milliseconds{60});
  EXPECT_EQ(g.digest(), frozen);
  EXPECT_EQ(g.pages_written(), written);
}

TEST(guest, take_dirty_clears_bits) {
  guest g{small_def(), true};
  g.mark_all_dirty();
  EXPECT_EQ(g.dirty_count(), g.pages());
  uint64_t cursor = 0;
  uint64_t out[100];
  EXPECT_EQ(g.take_dirty(&cursor, out, 100), 100u);
  EXPECT_EQ(out[0], 0u);
  EXPECT_EQ(out[99], 99u);
  EXPECT_EQ(g.dirty_count(), g.pages() - 100);
}
