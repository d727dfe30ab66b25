#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "drivers/domain_definition.hpp"

namespace ferry {

/// How a definition becomes QEMU's machine and devices (docs/qemu.md,
/// "Devices"). Every device gets an id and a bus address computed from the
/// definition alone (document order), so a migration's destination, started
/// from the migrated definition, lays out the same machine as the source:
/// QEMU's stream finds each device's state by that layout.
namespace qemu_devices {

/// `-machine TYPE,accel=…` and `-cpu`, `-smp`.
std::vector<std::string> machine_args(const domain_definition& def, bool kvm);

/// Firmware boot order or direct kernel boot (`-kernel`, `-initrd`,
/// `-append`), then disks, NICs and serial ports. `serial_log` receives
/// everything the guest writes to its first serial port (appended);
/// `taps[i]` is the host tap device of NIC i (`tap_names`).
std::vector<std::string> device_args(const domain_definition& def,
                                     const std::string& serial_log,
                                     const std::vector<std::string>& taps);

/// What the layout cannot give on this machine type (IDE on q35, more
/// disks than a bus has units), as a one-line error.
caf::error check(const domain_definition& def);

/// The host tap device of each NIC (empty for user networking): its
/// `<target dev>`, or `fy` + 6 digits of the UUID + `salt` (2 characters,
/// new for each QEMU, so a migration's two QEMUs on one host never share
/// a name) + the NIC's index: at most 15 characters, as Linux allows.
std::vector<std::string> tap_names(const domain_definition& def,
                                   const std::string& salt);

} // namespace qemu_devices

} // namespace ferry
