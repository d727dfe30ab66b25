#include "drivers/job_phase.hpp"

#include <array>
#include <utility>

namespace ferry {

namespace {

constexpr std::array<std::pair<job_phase, const char*>, 8> phase_words{{
  {job_phase::begin, "begin"},
  {job_phase::perform, "perform"},
  {job_phase::verified, "verified"},
  {job_phase::outcome_unknown, "outcome-unknown"},
  {job_phase::prepared, "prepared"},
  {job_phase::committed, "committed"},
  {job_phase::aborted, "aborted"},
  {job_phase::lost, "lost"},
}};

} // namespace

const char* to_string(job_role r) {
  return r == job_role::source ? "source" : "destination";
}

const char* to_string(job_phase p) {
  for (auto& [phase, word] : phase_words)
    if (phase == p)
      return word;
  return "?";
}

std::optional<job_role> parse_job_role(const std::string& text) {
  if (text == "source")
    return job_role::source;
  if (text == "destination")
    return job_role::destination;
  return std::nullopt;
}

std::optional<job_phase> parse_job_phase(const std::string& text) {
  for (auto& [phase, word] : phase_words)
    if (text == word)
      return phase;
  return std::nullopt;
}

job_role role_of(job_phase p) {
  switch (p) {
    case job_phase::begin:
    case job_phase::perform:
    case job_phase::verified:
    case job_phase::outcome_unknown:
      return job_role::source;
    default:
      return job_role::destination;
  }
}

bool is_final(job_phase p) {
  return p == job_phase::committed || p == job_phase::aborted
         || p == job_phase::lost;
}

} // namespace ferry
