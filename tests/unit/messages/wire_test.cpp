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

// pump_chunk keeps its bytes in chunk_bytes (uninitialised, pooled) but
// must stay on the wire what it was as a std::vector<char>: agents of
// different builds talk to each other.
TEST_F(wire_test, pump_chunk_saves_like_a_byte_vector_and_reuses_slabs) {
  auto& pool = chunk_pool::instance();
  pool.retain();
  {
    pump_chunk big{3, chunk_bytes(chunk_pool::slab_bytes)};
    for (size_t i = 0; i < big.data.size(); ++i)
      big.data.data()[i] = static_cast<char>(i * 7);
    auto buf = save(big);
    uint64_t seq = 3;
    std::vector<char> bytes(big.data.data(), big.data.data() + big.data.size());
    std::vector<char> legacy;
    caf::binary_serializer sink{sys, legacy};
    ASSERT_FALSE(sink(seq, bytes));
    EXPECT_EQ(buf, legacy);
    pump_chunk back;
    caf::binary_deserializer src{sys, buf};
    ASSERT_FALSE(src(back));
    EXPECT_EQ(back.seq, 3u);
    EXPECT_EQ(back.data, big.data);
    EXPECT_EQ(back.data.capacity(), chunk_pool::slab_bytes);
    auto copy = back;
    EXPECT_EQ(copy.data, back.data);
    EXPECT_NE(copy.data.data(), back.data.data());
  }
  // The pool keeps at most max_free slabs, and none once no pump runs.
  std::vector<chunk_bytes> many;
  for (size_t i = 0; i < 2 * chunk_pool::max_free; ++i)
    many.emplace_back(chunk_pool::slab_bytes);
  many.clear();
  EXPECT_EQ(pool.free_slabs(), chunk_pool::max_free);
  pool.release();
  EXPECT_EQ(pool.free_slabs(), 0u);
  // Small and empty chunks.
  pump_chunk small{9, chunk_bytes(std::vector<char>{'a', 'b'})};
  auto buf = save(small);
  pump_chunk back;
  caf::binary_deserializer src{sys, buf};
  ASSERT_FALSE(src(back));
  EXPECT_EQ(back.data, small.data);
  pump_chunk empty;
  buf = save(empty);
  caf::binary_deserializer src2{sys, buf};
  ASSERT_FALSE(src2(back));
  EXPECT_TRUE(back.data.empty());
}
