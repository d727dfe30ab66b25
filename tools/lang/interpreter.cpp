#include "tools/lang/interpreter.hpp"

#include <sstream>

#include "util/error.hpp"

namespace ferry::lang {

caf::expected<std::vector<std::string>> split(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < line.size()) {
        cur += line[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (c == '#')
      break;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) {
        words.push_back(std::move(cur));
        cur.clear();
        in_word = false;
      }
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
    } else {
      cur += c;
    }
  }
  if (quote != 0)
    return make_error(errc::invalid_argument,
                      std::string{"unclosed "} + quote + " quote");
  if (in_word)
    words.push_back(std::move(cur));
  return words;
}

void interpreter::add(const std::string& verb, std::string usage,
                      std::string summary, handler run) {
  table_[verb] = entry{std::move(usage), std::move(summary), std::move(run)};
}

caf::error interpreter::run(const std::string& line) {
  auto words = split(line);
  if (!words)
    return words.error();
  if (words->empty())
    return caf::none;
  return run(*words);
}

caf::error interpreter::run(const std::vector<std::string>& words) {
  if (words.empty())
    return caf::none;
  auto i = table_.find(words[0]);
  if (i == table_.end())
    return make_error(errc::invalid_argument,
                      "unknown command '" + words[0] + "' (try help)");
  return i->second.run({words.begin() + 1, words.end()});
}

std::vector<std::string> interpreter::verbs() const {
  std::vector<std::string> out;
  for (auto& [verb, e] : table_)
    out.push_back(verb);
  return out;
}

std::string interpreter::help(const std::string& verb) const {
  std::ostringstream os;
  for (auto& [name, e] : table_) {
    if (!verb.empty() && name != verb)
      continue;
    auto head = name + (e.usage.empty() ? "" : " " + e.usage);
    os << "  " << head;
    if (head.size() < 36)
      os << std::string(36 - head.size(), ' ');
    else
      os << "\n  " << std::string(36, ' ');
    os << e.summary << "\n";
  }
  if (!verb.empty() && os.str().empty())
    return "no command '" + verb + "'\n";
  return os.str();
}

} // namespace ferry::lang
