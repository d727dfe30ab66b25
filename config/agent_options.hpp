#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "config/agent_settings.hpp"

namespace ferry {

/// What the command line asked for: run with settings, or print text.
struct agent_command {
  agent_settings settings;
  bool exit_early = false; ///< --help or --version: print `text` and exit 0.
  std::string text;
};

/// Parses `ferryd`'s command line and, with `--config FILE`, its INI file
/// (command line wins). Validates everything that can be checked without
/// touching the network: TLS completeness, addresses, drivers, ACL rules.
caf::expected<agent_command> parse_agent_options(
  const std::vector<std::string>& args);

/// Like the above, with the INI text read from `config` instead of the file
/// `--config` names (tests and the fuzz target feed text without a file).
caf::expected<agent_command> parse_agent_options(
  const std::vector<std::string>& args, std::istream& config);

} // namespace ferry
