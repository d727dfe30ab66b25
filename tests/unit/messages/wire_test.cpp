#include "messages/finite.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <gtest/gtest.h>

#include "messages/migration.hpp"
#include "messages/types.hpp"

using namespace ferry;

namespace {

struct wire_test : ::testing::Test {
  wire_test() : sys{(add_message_types(cfg), cfg)} {
  }

  template <class T>
  std::vector<char> save(T& x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    EXPECT_FALSE(sink(x));
    return buf;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
};

} // namespace

// Found by fuzzing: CAF 0.17's pack754 loops forever on infinity.
TEST_F(wire_test, infinite_doubles_save_as_zero) {
  job_stats st;
  st.job_id = "j";
  st.mibps = std::numeric_limits<double>::infinity();
  st.dirty_rate_mibps = std::numeric_limits<double>::quiet_NaN();
  auto buf = save(st); // returns at all
  job_stats back;
  caf::binary_deserializer src{sys, buf};
  ASSERT_FALSE(src(back));
  EXPECT_EQ(back.job_id, "j");
  EXPECT_EQ(back.mibps, 0.0);
  EXPECT_EQ(back.dirty_rate_mibps, 0.0);
  migration_result res;
  res.mibps = -std::numeric_limits<double>::infinity();
  save(res);
  EXPECT_EQ(res.mibps, 0.0);
}

// A peer's all-ones exponent unpacks to infinity; it must not survive loading
// (the agent would hang re-serializing it).
TEST_F(wire_test, infinity_from_the_wire_loads_as_zero) {
  migration_result res;
  res.mibps = 1.0;
  auto buf = save(res);
  // mibps is the last 8 bytes before the warning's length byte.
  auto pos = buf.size() - 1 - 8;
  buf[pos] = static_cast<char>(0x7f);
  buf[pos + 1] = static_cast<char>(0xf0);
  migration_result back;
  caf::binary_deserializer src{sys, buf};
  ASSERT_FALSE(src(back));
  EXPECT_TRUE(std::isfinite(back.mibps));
  save(back);
}

TEST(make_finite, keeps_finite_values) {
  double a = 1.5;
  double b = -std::numeric_limits<double>::infinity();
  EXPECT_FALSE(make_finite(a, b));
  EXPECT_EQ(a, 1.5);
  EXPECT_EQ(b, 0.0);
}

// Found by fuzzing: a pump_chunk claiming 4 GiB in five bytes made the
// deserializer allocate 4 GiB before noticing the data was not there.
TEST_F(wire_test, pump_chunk_length_is_bounded_before_allocating) {
  pump_chunk small{7, std::vector<char>(100, 'x')};
  auto buf = save(small);
  pump_chunk back;
  caf::binary_deserializer src{sys, buf};
  ASSERT_FALSE(src(back));
  EXPECT_EQ(back.seq, 7u);
  EXPECT_EQ(back.data, small.data);
  // seq, then a varbyte length of 2^32 - 1 and no data.
  std::vector<char> hostile(8, '\0');
  for (char c : {'\xff', '\xff', '\xff', '\xff', '\x0f'})
    hostile.push_back(c);
  pump_chunk big;
  caf::binary_deserializer bad{sys, hostile};
  EXPECT_TRUE(bad(big));
  EXPECT_LE(big.data.capacity(), max_pump_chunk_bytes);
}
