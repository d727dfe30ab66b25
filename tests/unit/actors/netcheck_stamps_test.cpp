// The netcheck stream's integrity marks: what makes `ferry netcheck`'s
// "every byte received in order" a real check.

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "actors/netcheck.hpp"

using namespace ferry;

namespace {

constexpr size_t block = netcheck_stamps::stamp_every;

/// `n` bytes of the stream from offset 0, stamped as the feeder does (in
/// 1 MiB writes).
std::vector<char> stream(size_t n) {
  std::vector<char> out(n, 'x');
  for (size_t off = 0; off < n; off += 1 << 20)
    netcheck_stamps::write(out.data() + off,
                           std::min<size_t>(1 << 20, n - off), off);
  return out;
}

/// Feeds `data` in pieces of the given sizes (cycled).
netcheck_stamps::checker check(const std::vector<char>& data,
                               std::vector<size_t> pieces) {
  netcheck_stamps::checker c;
  size_t at = 0;
  for (size_t i = 0; at < data.size(); ++i) {
    auto n = std::min(pieces[i % pieces.size()], data.size() - at);
    c.feed(data.data() + at, n);
    at += n;
  }
  return c;
}

} // namespace

TEST(netcheck_stamps, an_intact_stream_passes_whatever_the_read_sizes) {
  auto s = stream(3 * (1 << 20) + 100);
  for (auto pieces : std::vector<std::vector<size_t>>{
         {1 << 20}, {block}, {4093, 7, 65536}, {1}, {262144, 5000}}) {
    auto c = check(s, pieces);
    EXPECT_TRUE(c.intact);
    EXPECT_EQ(c.offset, s.size());
    // Every stamp, also those split between two reads (the last block is
    // 100 bytes: its stamp fits).
    EXPECT_EQ(c.stamps, (s.size() + block - 1) / block);
  }
}

TEST(netcheck_stamps, a_lost_repeated_or_reordered_block_is_caught) {
  auto s = stream(1 << 20);
  auto lost = s;
  lost.erase(lost.begin() + 10 * block, lost.begin() + 11 * block);
  EXPECT_FALSE(check(lost, {65536}).intact);

  auto repeated = s;
  repeated.insert(repeated.begin() + 20 * block, s.begin() + 19 * block,
                  s.begin() + 20 * block);
  EXPECT_FALSE(check(repeated, {65536}).intact);

  auto swapped = s;
  std::swap_ranges(swapped.begin() + 3 * block, swapped.begin() + 4 * block,
                   swapped.begin() + 5 * block);
  EXPECT_FALSE(check(swapped, {65536}).intact);

  auto flipped = s;
  flipped[7 * block + 2] ^= 0x40; // inside a stamp
  EXPECT_FALSE(check(flipped, {65536}).intact);
  EXPECT_FALSE(check(flipped, {block * 7 + 1, 3})
                 .intact) << "a damaged stamp split between reads";
}
