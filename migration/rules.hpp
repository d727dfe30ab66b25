#pragma once

#include <string>

#include <caf/error.hpp>

#include "drivers/data_path.hpp"
#include "messages/migration.hpp"

namespace ferry {

/// `managed`, `p2p`, `tunnelled` or `direct`.
std::string mode_of(const migration_flags& flags);

/// Checks the rules between flags (docs/architecture.md): --tunnelled needs
/// --p2p, a migrate URI excludes --tunnelled, --direct takes a hypervisor URI
/// and excludes the others, --tls excludes --tunnelled, values in range.
/// One-line errors naming the flags.
caf::error validate_flags(const migration_flags& flags);

/// With --secure, refuses unless every hop of the data path is encrypted and
/// authenticated; the error names the hop that is not.
caf::error check_secure(const migration_flags& flags, const data_path& path);

} // namespace ferry
