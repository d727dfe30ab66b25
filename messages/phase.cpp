#include "messages/phase.hpp"

#include <array>
#include <utility>

namespace ferry {

namespace {

constexpr std::array<std::pair<mig_phase, const char*>, 13> phase_words{{
  {mig_phase::none, "none"},
  {mig_phase::begin, "begin"},
  {mig_phase::prepare, "prepare"},
  {mig_phase::perform, "perform"},
  {mig_phase::verified, "verified"},
  {mig_phase::finish, "finish"},
  {mig_phase::committed, "committed"},
  {mig_phase::confirm, "confirm"},
  {mig_phase::done, "done"},
  {mig_phase::failed, "failed"},
  {mig_phase::outcome_unknown, "outcome-unknown"},
  {mig_phase::aborted, "aborted"},
  {mig_phase::lost, "lost"},
}};

} // namespace

const char* to_string(mig_phase p) {
  for (auto& [phase, word] : phase_words)
    if (phase == p)
      return word;
  return "unknown";
}

std::optional<mig_phase> parse_phase(const std::string& text) {
  for (auto& [phase, word] : phase_words)
    if (text == word)
      return phase;
  if (text == "prepared")
    return mig_phase::prepare;
  return std::nullopt;
}

} // namespace ferry
