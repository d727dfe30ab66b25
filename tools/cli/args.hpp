#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <caf/error.hpp>

namespace ferry::cli {

/// Parses a verb's words with Boost.Program_options: `desc` names the flags,
/// `positional` the operands in order (all required). Errors are one line
/// and name the verb.
caf::error parse_args(const std::string& verb,
                      const std::vector<std::string>& words,
                      const boost::program_options::options_description& desc,
                      const std::vector<std::string>& positional,
                      boost::program_options::variables_map& vm,
                      size_t optional_tail = 0);

} // namespace ferry::cli
