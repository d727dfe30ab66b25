#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ferry {

/// The one phase vocabulary of a migration (libvirt's v3 names plus the
/// durable states between them), used on the wire (`job_stats`,
/// `domjobinfo`), by the coordinator and both jobs (migration/phases.hpp),
/// and by the job journal and recovery (drivers/job_journal.hpp). Each
/// value has one word (`to_string`), the same on screen and on disk.
///
/// The order is the order a successful job passes through them, which
/// progress displays rely on (`phase > perform`: the data has moved).
enum class mig_phase : uint8_t {
  none = 0,
  begin,    ///< Source: the domain is locked for the job.
  prepare,  ///< Destination: the incoming domain exists, paused.
  perform,  ///< Source: data is moving; the guest may be paused.
  verified, ///< Source: the destination verified everything; about to commit.
  finish,   ///< Destination: committing.
  committed, ///< Destination: the commit point; the domain is owned here.
  confirm,  ///< Source: the outcome is being applied.
  done,     ///< The job succeeded.
  failed,   ///< The job failed; the source kept the domain.
  outcome_unknown, ///< Source: the commit may or may not have happened.
  aborted,  ///< Destination: torn down; the source keeps the domain.
  lost,     ///< Destination: committed, then the guest died with this agent.
};

/// `begin`, `outcome-unknown`, …: the word `domjobinfo` shows and the
/// journal stores.
const char* to_string(mig_phase p);

/// The phase `text` names (`to_string`'s inverse), or none. Also reads
/// `prepared`, the word journals written by earlier builds hold for
/// `prepare`.
std::optional<mig_phase> parse_phase(const std::string& text);

} // namespace ferry
