#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace ferry::testhv {

/// The test hypervisor's migration stream (all integers little-endian):
///
///     header   "FRYMIG01" | u64 ram_bytes | u32 page_size | u32 flags
///     record   'P' u32 n (1..max_batch) | n × u64 pfn | n × page
///              'I' u32 iteration            (end of a pre-copy pass)
///              'C' u8 was_running | 32-byte SHA-256 of the final RAM
///     reply    'K' (digest verified) or 'X' (rejected), receiver to sender
///     go       'G', sender to receiver, direct migration only: the sender
///              has seen 'K' and gives up its copy
///
/// The reply travels back on the same channel, which is why tunnelled
/// migration needs a bidirectional pump, as QEMU's return path does.
namespace stream {

constexpr char magic[8] = {'F', 'R', 'Y', 'M', 'I', 'G', '0', '1'};
constexpr size_t header_size = 24;
constexpr uint32_t max_batch = 256;
constexpr char rec_pages = 'P';
constexpr char rec_iteration = 'I';
constexpr char rec_complete = 'C';
constexpr char reply_ok = 'K';
constexpr char reply_rejected = 'X';
constexpr char reply_go = 'G';

inline void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

} // namespace stream
} // namespace ferry::testhv
