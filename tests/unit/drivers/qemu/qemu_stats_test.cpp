#include "drivers/qemu/qemu_stats.hpp"

#include <gtest/gtest.h>

#include "drivers/qemu/ram_digest.hpp"

using namespace ferry;

TEST(qemu_stats, query_migrate_of_a_running_migration) {
  // As QEMU 7.2 answered on this machine (trimmed).
  auto reply = qmp::json::parse(R"({"status": "active", "setup-time": 33,
    "expected-downtime": 120, "total-time": 1500, "cpu-throttle-percentage": 30,
    "ram": {"total": 268967936, "dirty-sync-count": 3, "page-size": 4096,
            "remaining": 16777216, "mbps": 838.8608, "transferred": 304825893,
            "dirty-pages-rate": 2560, "duplicate": 4650}})");
  auto st = parse_query_migrate(reply);
  EXPECT_EQ(st.hv_status, "active");
  EXPECT_EQ(st.data_total, 268967936u);
  EXPECT_EQ(st.data_processed, 304825893u);
  EXPECT_EQ(st.data_remaining, 16777216u);
  EXPECT_EQ(st.iteration, 3u);
  EXPECT_DOUBLE_EQ(st.mibps, 100.0); // 838.8608 Mbit/s
  EXPECT_DOUBLE_EQ(st.dirty_rate_mibps, 10.0);
  EXPECT_EQ(st.expected_downtime_ms, 120u);
  EXPECT_EQ(st.throttle, 30u);
  EXPECT_EQ(st.downtime_ms, 0u);
}

TEST(qemu_stats, failed_and_empty_replies) {
  auto st = parse_query_migrate(qmp::json::parse(
    R"({"status": "failed", "error-desc": "Unable to write to socket"})"));
  EXPECT_EQ(st.hv_status, "failed");
  EXPECT_EQ(st.error, "Unable to write to socket");
  EXPECT_EQ(parse_query_migrate(qmp::json::object()).hv_status, "none");
}

TEST(ram_digest, pc_machine_ram_layout) {
  using ranges = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(ram_digest::ranges(256u << 20), (ranges{{0, 256u << 20}}));
  EXPECT_EQ(ram_digest::ranges(uint64_t{3} << 30),
            (ranges{{0, uint64_t{3} << 30}}));
  EXPECT_EQ(ram_digest::ranges(uint64_t{8} << 30),
            (ranges{{0, uint64_t{3} << 30},
                    {uint64_t{4} << 30, uint64_t{5} << 30}}));
}
