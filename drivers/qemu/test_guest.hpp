#pragma once

#include <cstdint>
#include <string>

namespace ferry {

/// ferry's QEMU test guest (`drivers/qemu/guest/ferry_test_guest.asm`): a
/// multiboot kernel that fills guest RAM with a pattern and keeps writing a
/// window of it. The driver recognises it by the signature in its image and
/// passes the window size (`<workload working-set>`) as a u32 at
/// `param_address`, written by QEMU's `-device loader` at reset.
struct test_guest {
  /// Guest-physical address of the working-set parameter.
  static constexpr uint64_t param_address = 0x1FF000;
  /// Guest-physical address of the pace: pages per second, 0 for unpaced.
  static constexpr uint64_t rate_address = 0x1FF004;
  /// The signature the kernel image carries in its first bytes.
  static constexpr const char* signature = "FERRY-TEST-GUEST-1";
  /// Largest window the 32-bit guest can dirty (it reads a u32).
  static constexpr uint64_t max_working_set = 0xFFFFF000;

  /// Most pages per second the guest can be asked for (`<workload
  /// dirty-rate>` of 64 GiB/s, far above what a TCG vCPU writes).
  static constexpr uint64_t max_pages_per_second = 64u << 18;

  /// `<workload dirty-rate>` in MiB/s as the guest's pace (pages per
  /// second, at least 1 for any positive rate; 0 for unpaced).
  static uint32_t pages_per_second(double mibps);

  /// True if `path` is a readable file holding ferry's test guest.
  static bool is_test_guest(const std::string& path);
};

} // namespace ferry
