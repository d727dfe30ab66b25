#pragma once

#include <string>
#include <vector>

#include "drivers/domain_definition.hpp"

namespace ferry {

/// The command line of one QEMU process for one domain: TCG or KVM, no
/// default devices, the definition's devices (drivers/qemu/qemu_devices.hpp),
/// no display, QMP on a unix socket. An incoming (destination)
/// QEMU starts paused and waits for `migrate-incoming`. Source and
/// destination get the same machine from the same definition, which
/// migration requires.
struct qemu_command_line {
  std::string binary = "qemu-system-x86_64";
  domain_definition def;
  std::string qmp_path; ///< Unix socket QEMU listens on for QMP.
  bool incoming = false; ///< `-S -incoming defer`.
  /// File that receives the guest's debug console (I/O port 0xE9) when the
  /// kernel is ferry's test guest; it reports there when its RAM is written.
  std::string console_path;

  /// Run with KVM (`accel=kvm`) instead of TCG.
  bool kvm = false;
  /// File that receives everything the guest writes to its first serial
  /// port, appended (the domain's console log).
  std::string serial_log;
  /// The host tap device of each NIC (qemu_devices::tap_names).
  std::vector<std::string> taps;

  /// The argument vector, binary first.
  std::vector<std::string> argv() const;

private:
  void add_test_guest(std::vector<std::string>& out) const;
};

} // namespace ferry
