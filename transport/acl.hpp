#pragma once

#include <string>
#include <vector>

#include "config/agent_settings.hpp"
#include "messages/session.hpp"

namespace ferry {

/// Maps identities (certificate common names) to roles. Rules are tried in
/// order and every matching rule adds its roles. With no rules at all, any
/// identity the CA vouches for holds every role (a single-team cluster);
/// configure rules to restrict. `admin` implies `read`.
class acl {
public:
  explicit acl(std::vector<acl_rule> rules);

  std::vector<role> roles_for(const std::string& identity) const;

  static bool has(const std::vector<role>& roles, role r);

private:
  std::vector<acl_rule> rules_;
};

/// Shell-style match supporting `*` (any run of characters).
bool wildcard_match(const std::string& pattern, const std::string& text);

} // namespace ferry
