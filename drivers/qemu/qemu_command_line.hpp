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

  /// The argument vector, binary first.
  std::vector<std::string> argv() const;
};

} // namespace ferry
