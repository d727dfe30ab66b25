#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace ferry {

/// The machine types a QEMU binary offers (`BINARY -machine help`).
/// A guest's machine type is part of its hardware: the driver records the
/// versioned name (`pc` → `pc-i440fx-7.2`) in the definition at define,
/// so a migration's destination runs the same machine, and a destination
/// whose QEMU lacks it refuses in prepare, before the source is touched.
struct qemu_machines {
  std::vector<std::string> names;             ///< Every name and alias.
  std::map<std::string, std::string> aliases; ///< `pc` → `pc-i440fx-7.2`.

  /// The versioned name of `machine` (empty: ferry's default, `pc`), or
  /// an error naming the binary when QEMU does not offer it.
  caf::expected<std::string> resolve(const std::string& machine,
                                     const std::string& binary) const;
};

/// Parses the output of `-machine help`.
qemu_machines parse_machine_help(const std::string& text);

/// Runs `binary -machine help` (blocks for at most a few seconds).
caf::expected<qemu_machines> list_machines(const std::string& binary);

} // namespace ferry
