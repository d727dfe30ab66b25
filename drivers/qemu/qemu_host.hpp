#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "drivers/domain_definition.hpp"

namespace ferry::qemu_host {

/// What this host must offer before a QEMU starts for `def`, checked so
/// the user reads why in one line instead of QEMU's last words: `/dev/kvm`
/// for `type='kvm'` (true: run with KVM) and for host CPU modes, the
/// kernel, initrd and disk files (readable; writable unless read-only).
caf::expected<bool> check(const domain_definition& def);

/// Tap names for `def`'s NICs (qemu_devices::tap_names) that no interface
/// of this host uses yet: a migration's two QEMUs on one host must not
/// draw the same salt (1 in 256 per try).
std::vector<std::string> free_tap_names(const domain_definition& def);

/// Attaches each bridged NIC's tap (`taps`, created by QEMU as it
/// started) to its bridge and brings it up; QEMU removes the tap when it
/// exits. Runs `ip`, blocking the caller for at most a few seconds.
caf::error attach_bridges(const domain_definition& def,
                          const std::vector<std::string>& taps);

} // namespace ferry::qemu_host
