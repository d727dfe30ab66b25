#pragma once

#include <cctype>
#include <string>

namespace ferry {

/// A character of a ferry name (domains, agents, drivers, ACL patterns'
/// literal parts): a letter, a digit, '-', '_' or '.'.
inline bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'
         || c == '.';
}

/// 1 to `max` name characters, not starting with '.': safe as a file name
/// under a state directory and in a log line.
inline bool valid_name(const std::string& name, size_t max = 64) {
  if (name.empty() || name.size() > max || name[0] == '.')
    return false;
  for (char c : name)
    if (!is_name_char(c))
      return false;
  return true;
}

} // namespace ferry
