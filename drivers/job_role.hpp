#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "messages/phase.hpp"

namespace ferry {

/// Which side of a migration a journal record belongs to.
enum class job_role : uint8_t { source, destination };

/// `source`, `destination`.
const char* to_string(job_role r);

std::optional<job_role> parse_job_role(const std::string& text);

/// The side whose journal records `p`, or none if no journal holds it.
/// The source journals begin, perform, verified and outcome-unknown and
/// removes its record once the job is over; the destination journals
/// prepare, committed, aborted and lost and keeps its final ones to
/// answer "did job X commit?" (docs/recovery.md).
std::optional<job_role> role_of(mig_phase p);

/// True for a destination's final states (committed, aborted, lost): the
/// record is then only the answer to outcome queries.
bool is_final(mig_phase p);

} // namespace ferry
