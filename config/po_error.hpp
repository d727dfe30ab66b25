#pragma once

#include <string>

#include <boost/program_options/errors.hpp>

namespace ferry {

/// The message of a Boost.Program_options error, safe for any input.
///
/// Boost's `error_with_option_name::what()` fills placeholders such as
/// `%value%` in a loop that never ends when the text it inserts contains the
/// placeholder again, so `--max-jobs %value%` or an INI key
/// `%canonical_option%` hung the process. This formats the message from
/// a copy whose inserted texts have '%' replaced.
std::string po_error_text(const boost::program_options::error& e);

} // namespace ferry
