#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ferry {

/// Which side of a migration a journal record belongs to.
enum class job_role : uint8_t { source, destination };

/// The job journal's vocabulary: what a record says about its job, the one
/// place these words are written and parsed (drivers/job_journal.hpp).
/// The phases of the protocol itself are `mig_phase`
/// (messages/migration.hpp); these are the durable states that recovery
/// acts on (docs/recovery.md).
enum class job_phase : uint8_t {
  // Source records, removed once the job is over.
  begin,           ///< The domain is locked for the job.
  perform,         ///< Data is moving; the guest may be paused.
  verified,        ///< The destination verified everything: about to commit.
  outcome_unknown, ///< The commit may or may not have happened.
  // Destination records, kept afterwards to answer "did job X commit?".
  prepared,  ///< The incoming domain exists, paused.
  committed, ///< The commit point: the domain is owned here.
  aborted,   ///< Torn down; the source keeps the domain.
  lost,      ///< Committed, then the guest died with this agent.
};

/// `source`, `destination`.
const char* to_string(job_role r);

/// The word a journal file holds: `begin`, `outcome-unknown`, ….
const char* to_string(job_phase p);

std::optional<job_role> parse_job_role(const std::string& text);
std::optional<job_phase> parse_job_phase(const std::string& text);

/// The side whose journal holds records of `p`.
job_role role_of(job_phase p);

/// True for a destination's final states (committed, aborted, lost): the
/// record is then only the answer to outcome queries.
bool is_final(job_phase p);

} // namespace ferry
