#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace ferry::lang {

/// Splits a command line into words: blanks separate words, "double" and
/// 'single' quotes group them, backslash escapes one character, and `#`
/// starts a comment outside quotes. Errors name the unclosed quote.
caf::expected<std::vector<std::string>> split(const std::string& line);

/// ferry's command language (docs/scenarios.md): one verb per line followed by its
/// words. The interpreter only parses and dispatches; front ends register
/// verbs — the actor shell registers the CLI verbs and introspection, the
/// scenario runner registers nodes, migrations, faults and expectations.
class interpreter {
public:
  using handler =
    std::function<caf::error(const std::vector<std::string>& args)>;

  /// Registers `verb`. `usage` lists its words, `summary` is one line.
  void add(const std::string& verb, std::string usage, std::string summary,
           handler run);

  /// Runs one line; blank lines and comments do nothing.
  caf::error run(const std::string& line);

  /// Runs a verb with its arguments.
  caf::error run(const std::vector<std::string>& words);

  /// Registered verbs, sorted (for completion).
  std::vector<std::string> verbs() const;

  /// `help` text: all verbs, or one.
  std::string help(const std::string& verb = {}) const;

  bool has(const std::string& verb) const {
    return table_.count(verb) != 0;
  }

private:
  struct entry {
    std::string usage;
    std::string summary;
    handler run;
  };
  std::map<std::string, entry> table_;
};

} // namespace ferry::lang
