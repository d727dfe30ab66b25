#pragma once

#include <optional>
#include <vector>

#include "drivers/job_role.hpp"
#include "messages/migration.hpp"

namespace ferry {

/// The agent a phase's request goes to.
enum class party : uint8_t { source, destination };

/// What the coordinator does when a phase goes wrong.
enum class phase_failure : uint8_t {
  report,             ///< Nothing is held yet: report the error.
  release_source,     ///< confirm(failed): the source resumes and unlocks.
  abort_then_release, ///< finish(false) to the destination, then release.
  ask_outcome,        ///< confirm(unknown): the commit may have happened;
                      ///< the source keeps the guest paused and asks.
  warn,               ///< Already committed: a success with a warning.
};

/// One row of the protocol: the request the coordinator sends in a phase,
/// what the asked side journals, and what a failure leads to. The
/// coordinator takes its failure paths from this table, and
/// tests/unit/migration/phases_test.cpp checks it against the coordinator's
/// behaviour and against the diagram in migration/README.md.
struct protocol_step {
  mig_phase phase;
  party asked;
  const char* request; ///< Message type (`messages/migration.hpp`).
  const char* answer;  ///< Its answer's type.
  /// The journal record the asked side writes before it acts (the
  /// durable form of the phase; docs/recovery.md), if any.
  std::optional<mig_phase> record;
  /// The answer was an error: the asked side refused and holds nothing
  /// new (its own request failed cleanly).
  phase_failure if_refused;
  /// No answer (timeout, lost connection, the asked actor went down):
  /// whatever the asked side did is unknown.
  phase_failure if_lost;
  /// This phase's success is the commit point: the domain changes owner.
  bool commits;
};

/// The phases of one migration in order (direct mode skips prepare and
/// finish; see migration/README.md).
const std::vector<protocol_step>& protocol_steps();

/// The row of `phase`; `phase` must be one of begin … confirm.
const protocol_step& step_of(mig_phase phase);

/// `report`, `release-source`, … as migration/README.md writes them.
const char* to_string(phase_failure f);

/// `source`, `destination`.
const char* to_string(party p);

} // namespace ferry
