#pragma once

// Helpers the domain XML parsers share (drivers/domain_definition.cpp,
// drivers/domain_xml_devices.cpp); not part of the drivers' interface.

#include <initializer_list>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <pugixml.hpp>

namespace ferry::domain_xml {

/// `invalid domain XML: WHY`, errc::invalid_xml.
caf::error bad(const std::string& why);

/// An error naming the first attribute of `node` not in `allowed`.
caf::error check_attributes(const pugi::xml_node& node,
                            std::initializer_list<const char*> allowed);

/// The element's text without surrounding white space.
std::string text_of(const pugi::xml_node& node);

/// A non-negative decimal number (integer or fraction), or false.
bool parse_number(const std::string& text, double& out);

/// A whole number from `low` to `high`, or false.
bool parse_count(const std::string& text, uint32_t low, uint32_t high,
                 uint32_t& out);

/// True if `name` is one of `names`.
bool one_of(const std::string& name, std::initializer_list<const char*> names);

/// The element children of `node` (comments and text skipped).
std::vector<pugi::xml_node> elements(const pugi::xml_node& node);

/// `yes`/`on` → true, `no`/`off` → false; anything else an error naming
/// `what`.
caf::error parse_switch(const std::string& text, const char* what,
                        bool& out);

} // namespace ferry::domain_xml
