#pragma once

#include <string>

#include <caf/expected.hpp>

#include "config/agent_settings.hpp"

namespace ferry {

/// Parses `PATTERN=ROLE[,ROLE…]`, e.g. `agent-*=peer` or `ops=admin,read`.
caf::expected<acl_rule> parse_acl_rule(const std::string& text);

} // namespace ferry
