#include "config/acl_parse.hpp"

#include <cctype>

#include "util/error.hpp"
#include "util/names.hpp"

namespace ferry {

caf::expected<acl_rule> parse_acl_rule(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::config_error,
                      "invalid ACL rule '" + text + "': " + why);
  };
  auto eq = text.find('=');
  if (eq == std::string::npos)
    return bad("expected PATTERN=ROLE[,ROLE]");
  acl_rule rule;
  rule.pattern = text.substr(0, eq);
  if (rule.pattern.empty())
    return bad("empty name pattern");
  for (char c : rule.pattern)
    if (!is_name_char(c) && c != '*' && c != '@')
      return bad(std::string{"invalid character '"} + c + "' in pattern");
  auto roles = text.substr(eq + 1);
  size_t pos = 0;
  while (pos <= roles.size()) {
    auto comma = roles.find(',', pos);
    auto item = roles.substr(pos, comma == std::string::npos ? std::string::npos
                                                             : comma - pos);
    if (item != "read" && item != "admin" && item != "peer")
      return bad("unknown role '" + item + "' (read, admin, peer)");
    rule.roles.push_back(item);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return rule;
}

} // namespace ferry
