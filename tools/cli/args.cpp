#include "tools/cli/args.hpp"

#include "config/po_error.hpp"
#include "util/error.hpp"

namespace po = boost::program_options;

namespace ferry::cli {

caf::error parse_args(const std::string& verb,
                      const std::vector<std::string>& words,
                      const po::options_description& desc,
                      const std::vector<std::string>& positional,
                      po::variables_map& vm, size_t optional_tail) {
  po::options_description all;
  all.add(desc);
  po::positional_options_description pos;
  for (auto& name : positional) {
    all.add_options()(name.c_str(), po::value<std::string>(), "");
    pos.add(name.c_str(), 1);
  }
  try {
    po::store(po::command_line_parser(words)
                .options(all)
                .positional(pos)
                .style(po::command_line_style::unix_style
                       ^ po::command_line_style::allow_guessing)
                .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return make_error(errc::invalid_argument, verb + ": " + po_error_text(e));
  }
  for (size_t i = 0; i + optional_tail < positional.size(); ++i)
    if (vm.count(positional[i]) == 0)
      return make_error(errc::invalid_argument,
                        verb + ": missing " + positional[i]);
  return caf::none;
}

} // namespace ferry::cli
