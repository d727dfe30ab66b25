#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "drivers/qemu/qemu_process.hpp"
#include "messages/domain.hpp"

namespace ferry {

/// `domdigest` for QEMU: SHA-256 of all guest RAM, written by QEMU's
/// `pmemsave` to temporary files next to the QMP socket and hashed here.
/// A running guest is paused for the `pmemsave` and resumed before the
/// hashing (a consistent snapshot, `exact` false); a paused one is exact.
class ram_digest {
public:
  /// Guest-physical RAM ranges (start, length) of a `pc` machine with
  /// `ram_bytes`: below 4 GiB up to the PCI hole, the rest from 4 GiB.
  static std::vector<std::pair<uint64_t, uint64_t>> ranges(uint64_t ram_bytes);

  /// Dumps and hashes `proc`'s RAM; `running` pauses it meanwhile.
  static caf::expected<domain_digest> take(qemu_process& proc, bool running);
};

} // namespace ferry
