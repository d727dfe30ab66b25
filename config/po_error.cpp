#include "config/po_error.hpp"

#include <algorithm>

namespace po = boost::program_options;

namespace ferry {

namespace {

/// A copy of the error with '%' taken out of every substitution.
class defused_error : public po::error_with_option_name {
public:
  explicit defused_error(const po::error_with_option_name& e)
    : po::error_with_option_name(e) {
    for (auto& entry : m_substitutions)
      std::replace(entry.second.begin(), entry.second.end(), '%', '?');
  }
};

} // namespace

std::string po_error_text(const po::error& e) {
  if (auto named = dynamic_cast<const po::error_with_option_name*>(&e))
    return defused_error{*named}.what();
  return e.what();
}

} // namespace ferry
