#pragma once

#include <functional>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "tools/cli/cli_context.hpp"

namespace ferry::cli {

/// One CLI verb. `run` gets the words after the verb.
struct command {
  std::string name;
  std::string usage;   ///< e.g. "DOM" or "[--all]"
  std::string summary; ///< One line for `help`.
  std::function<caf::error(context&, const std::vector<std::string>&)> run;
};

/// Every verb, in the order `help` lists them.
const std::vector<command>& commands();

/// Runs `words[0]` with the rest as arguments. Usage errors have code
/// `invalid_argument`.
caf::error run_command(context& ctx, const std::vector<std::string>& words);

/// Text of `help` (all verbs) or of one verb.
std::string help_text(const std::string& verb = {});

/// Adds verbs defined elsewhere (migration, job control) to the table.
void add_commands(std::vector<command>& table);
void add_migration_commands(std::vector<command>& table);
void add_event_commands(std::vector<command>& table);
void add_netcheck_commands(std::vector<command>& table);

} // namespace ferry::cli
