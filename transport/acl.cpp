#include "transport/acl.hpp"

#include <algorithm>

namespace ferry {

bool wildcard_match(const std::string& pattern, const std::string& text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string::npos;
  size_t mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

acl::acl(std::vector<acl_rule> rules, std::vector<std::string> default_roles)
  : rules_(std::move(rules)), default_roles_(std::move(default_roles)) {
}

std::vector<role> acl::roles_for(const std::string& identity) const {
  std::vector<role> out;
  auto add = [&](role r) {
    if (std::find(out.begin(), out.end(), r) == out.end())
      out.push_back(r);
  };
  auto grant = [&](const std::vector<std::string>& names) {
    for (auto& name : names) {
      if (name == "read") {
        add(role::read);
      } else if (name == "admin") {
        add(role::admin);
        add(role::read);
      } else if (name == "peer") {
        add(role::peer);
      }
    }
  };
  bool matched = false;
  for (auto& rule : rules_) {
    if (!wildcard_match(rule.pattern, identity))
      continue;
    matched = true;
    grant(rule.roles);
  }
  if (!matched)
    grant(default_roles_);
  return out;
}

bool acl::has(const std::vector<role>& roles, role r) {
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

} // namespace ferry
