#include "drivers/job_role.hpp"

namespace ferry {

const char* to_string(job_role r) {
  return r == job_role::source ? "source" : "destination";
}

std::optional<job_role> parse_job_role(const std::string& text) {
  if (text == "source")
    return job_role::source;
  if (text == "destination")
    return job_role::destination;
  return std::nullopt;
}

std::optional<job_role> role_of(mig_phase p) {
  switch (p) {
    case mig_phase::begin:
    case mig_phase::perform:
    case mig_phase::verified:
    case mig_phase::outcome_unknown:
      return job_role::source;
    case mig_phase::prepare:
    case mig_phase::committed:
    case mig_phase::aborted:
    case mig_phase::lost:
      return job_role::destination;
    case mig_phase::none:
    case mig_phase::finish:
    case mig_phase::confirm:
    case mig_phase::done:
    case mig_phase::failed:
      break;
  }
  return std::nullopt;
}

bool is_final(mig_phase p) {
  return p == mig_phase::committed || p == mig_phase::aborted
         || p == mig_phase::lost;
}

} // namespace ferry
