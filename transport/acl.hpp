#pragma once

#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/session.hpp"

namespace ferry {

/// One ACL rule: certificate names matching `pattern` (`*` wildcards) hold
/// `roles` (`read`, `admin`, `peer`).
struct acl_rule {
  std::string pattern;
  std::vector<std::string> roles;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acl_rule& x) {
  return f(caf::meta::type_name("ferry.acl_rule"), x.pattern, x.roles);
}

/// Maps identities (certificate common names) to roles. Rules are tried in
/// order and every matching rule adds its roles. An identity no rule
/// matches holds the default roles (`--acl-default`), none unless
/// configured: the agent fails closed, and a certificate from the CA alone
/// grants nothing. `admin` implies `read`.
class acl {
public:
  explicit acl(std::vector<acl_rule> rules,
               std::vector<std::string> default_roles = {});

  std::vector<role> roles_for(const std::string& identity) const;

  static bool has(const std::vector<role>& roles, role r);

private:
  std::vector<acl_rule> rules_;
  std::vector<std::string> default_roles_;
};

/// Shell-style match supporting `*` (any run of characters).
bool wildcard_match(const std::string& pattern, const std::string& text);

} // namespace ferry
