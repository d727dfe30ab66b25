#include "migration/phases.hpp"

#include <stdexcept>

namespace ferry {

const std::vector<protocol_step>& protocol_steps() {
  using pf = phase_failure;
  // The commit point is the destination's finish: it journals `committed`
  // before it resumes the guest (docs/architecture.md, "Ownership").
  static const std::vector<protocol_step> steps{
    {mig_phase::begin, party::source, "mig_begin", "begin_cookie",
     mig_phase::begin, pf::report, pf::report, false},
    {mig_phase::prepare, party::destination, "mig_prepare", "prepare_cookie",
     mig_phase::prepare, pf::release_source, pf::release_source, false},
    {mig_phase::perform, party::source, "mig_perform", "job_stats",
     mig_phase::perform, pf::abort_then_release, pf::abort_then_release,
     false},
    {mig_phase::finish, party::destination, "mig_finish", "finish_cookie",
     mig_phase::committed, pf::release_source, pf::ask_outcome, true},
    {mig_phase::confirm, party::source, "mig_confirm", "bool", std::nullopt,
     pf::warn, pf::warn, false},
  };
  return steps;
}

const protocol_step& step_of(mig_phase phase) {
  for (auto& s : protocol_steps())
    if (s.phase == phase)
      return s;
  throw std::logic_error{std::string{"no protocol step for phase "}
                         + to_string(phase)};
}

const char* to_string(phase_failure f) {
  switch (f) {
    case phase_failure::report: return "report";
    case phase_failure::release_source: return "release-source";
    case phase_failure::abort_then_release: return "abort-then-release";
    case phase_failure::ask_outcome: return "ask-outcome";
    case phase_failure::warn: return "warn";
  }
  return "?";
}

const char* to_string(party p) {
  return p == party::source ? "source" : "destination";
}

} // namespace ferry
