#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/migration.hpp"
#include "transport/connector.hpp"
#include "transport/door/door_actor.hpp"

namespace ferry {

/// Bounds on each phase's remote request (docs/architecture.md,
/// "Conventions": every remote request has a timeout; the remote actors are
/// monitored as well).
struct phase_timeouts {
  std::chrono::milliseconds begin{30000};
  std::chrono::milliseconds prepare{120000};
  std::chrono::milliseconds perform{6 * 3600 * 1000};
  std::chrono::milliseconds finish{60000};
  std::chrono::milliseconds confirm{60000};
};

using migration_callback =
  std::function<void(caf::expected<migration_result>)>;

/// What a coordinator needs. In managed mode the CLI fills in both agents'
/// sessions; in peer-to-peer modes the source agent gives its own job
/// manager as the source and how to reach the destination with the agent's
/// own identity (the client's credentials never travel).
struct coordinator_args {
  std::string job_id;
  std::string domain;
  migration_flags flags;
  caf::actor source_entry;
  caf::actor dest_entry;        ///< Null: connect with `dest_connect`.
  connect_request dest_connect;
  /// The source agent's session pool (peer_links): when set, the session
  /// with the destination comes from it instead of a new connect.
  caf::actor peer_links;
  std::string source_agent;
  std::string source_driver;
  phase_timeouts timeouts;
  migration_callback done;      ///< Called exactly once.
};

struct coordinator_state {
  coordinator_args args;
  mig_phase phase = mig_phase::none;
  uint64_t phase_seq = 0; ///< Guards against late answers of an old phase.
  std::function<void(caf::error)> on_loss; ///< Current phase's failure path.
  std::vector<caf::actor_addr> waiting_on; ///< Whose loss fails the phase.
  std::vector<caf::actor_addr> lost; ///< Monitored actors already down.
  source_participant source_job;
  dest_participant dest_job;
  agent_link dest_link;
  begin_cookie begin;
  prepare_cookie prepare;
  job_stats perform_stats;
  /// confirm: the result to report once the source answered.
  caf::expected<migration_result> confirmed{caf::error{}};
  std::chrono::steady_clock::time_point started;
  /// When the current phase (or, before begin, connecting) started.
  std::chrono::steady_clock::time_point phase_started;
  /// Milliseconds spent in each phase left so far, in order; "connect" is
  /// the time before begin (the link to the destination in p2p).
  std::vector<std::pair<std::string, uint64_t>> phase_ms;
  bool reported = false;
  static inline const char* name = "ferry.coordinator";
};

/// Drives one migration job through libvirt's v3 phases and
/// docs/architecture.md's ownership rule. It runs in the CLI (managed) or in
/// the source agent (peer-to-peer, tunnelled, direct).
///
///     [connect]─>begin─>prepare─>perform─>finish─>confirm(committed)─>done
///                  │       │        │        │
///                  │       │        │        ├─ refused ──> confirm(failed)
///                  │       │        │        └─ lost ─────> confirm(unknown)
///                  │       │        └─ failed ─> finish(fail), confirm(failed)
///                  │       └─ failed ──────────> confirm(failed)
///                  └─ failed ──────────────────> (nothing to undo)
///
/// Direct migration skips prepare and finish: the hypervisor manages the
/// destination side. The answer to finish decides everything: before it,
/// any failure resumes the source; after it, the source is destroyed; when
/// it is lost, the source stays paused and resolves the outcome itself.
caf::behavior migration_coordinator(door_stateful<coordinator_state>* self,
                                    coordinator_args args);

/// A fresh job id: 32 hex digits, the first 12 the creation time in Unix
/// ms (so a destination can tell a job older than what its journal
/// pruned), the other 20 random.
std::string new_job_id();

/// The creation time `new_job_id` put into `id` (Unix ms); 0 if `id` is
/// not a job id.
uint64_t job_id_time_ms(const std::string& id);

/// True for strings `new_job_id` could have made.
bool valid_job_id(const std::string& id);

} // namespace ferry
