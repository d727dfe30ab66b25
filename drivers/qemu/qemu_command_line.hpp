#pragma once

#include <string>
#include <vector>

#include "drivers/domain_definition.hpp"

namespace ferry {

/// The command line of one QEMU process for one domain: TCG, no default
/// devices, no display, QMP on a unix socket. An incoming (destination)
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

  /// The argument vector, binary first.
  std::vector<std::string> argv() const;
};

} // namespace ferry
