#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "drivers/test/hv/channel.hpp"
#include "drivers/test/hv/guest.hpp"

namespace ferry::testhv {

/// Progress callbacks of `receive_stream`; either may be empty.
struct receive_hooks {
  std::function<void(size_t bytes)> received; ///< Bytes consumed so far.
  std::function<void(uint32_t pass)> iteration; ///< An 'I' record.
};

/// How a stream ended: at its complete record, or with an error.
struct receive_result {
  bool ok = false;
  std::string error;        ///< Why not `ok`.
  bool was_running = false; ///< From the complete record.
  std::string digest;       ///< The sender's SHA-256 of the final RAM (32 bytes).
};

/// Reads a migration stream (stream_format.hpp) from `in` into `g`, up to
/// and including its complete record, validating every record: magic,
/// geometry against `g`, batch sizes and page numbers. Writes pages under
/// `g`'s RAM lock. The verdict is the caller's: this only parses.
receive_result receive_stream(channel& in, guest& g,
                              const receive_hooks& hooks = {});

} // namespace ferry::testhv
