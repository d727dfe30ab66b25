#include "drivers/domain_xml_util.hpp"

#include <cmath>

#include "util/error.hpp"

namespace ferry::domain_xml {

caf::error bad(const std::string& why) {
  return make_error(errc::invalid_xml, "invalid domain XML: " + why);
}

bool one_of(const std::string& name,
            std::initializer_list<const char*> names) {
  for (auto* n : names)
    if (name == n)
      return true;
  return false;
}

caf::error check_attributes(const pugi::xml_node& node,
                            std::initializer_list<const char*> allowed) {
  for (auto attr : node.attributes())
    if (!one_of(attr.name(), allowed))
      return bad("unknown attribute '" + std::string{attr.name()} + "' on <"
                 + node.name() + ">");
  return caf::none;
}

std::string text_of(const pugi::xml_node& node) {
  std::string out = node.child_value();
  auto first = out.find_first_not_of(" \t\r\n");
  auto last = out.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? "" : out.substr(first, last - first + 1);
}

bool parse_number(const std::string& text, double& out) {
  if (text.empty() || text.size() > 32)
    return false;
  size_t pos = 0;
  try {
    out = std::stod(text, &pos);
  } catch (...) {
    return false;
  }
  return pos == text.size() && std::isfinite(out) && out >= 0
         && text[0] != '-' && text[0] != '+';
}

bool parse_count(const std::string& text, uint32_t low, uint32_t high,
                 uint32_t& out) {
  double n = 0;
  if (!parse_number(text, n) || n < low || n > high || n != std::floor(n))
    return false;
  out = static_cast<uint32_t>(n);
  return true;
}

std::vector<pugi::xml_node> elements(const pugi::xml_node& node) {
  std::vector<pugi::xml_node> out;
  for (auto child : node.children())
    if (child.type() == pugi::node_element)
      out.push_back(child);
  return out;
}

caf::error parse_switch(const std::string& text, const char* what,
                        bool& out) {
  if (text == "yes" || text == "on") {
    out = true;
    return caf::none;
  }
  if (text == "no" || text == "off") {
    out = false;
    return caf::none;
  }
  return bad(std::string{what} + " must be 'on' or 'off', got '" + text + "'");
}

} // namespace ferry::domain_xml
