#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/serializer.hpp>
#include <caf/sec.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/phase.hpp"
#include "messages/chunk_bytes.hpp"
#include "messages/finite.hpp"

namespace ferry {

struct job_stats;
struct mig_perform;
struct mig_confirm;
struct mig_finish;
struct finish_cookie;
struct pump_hello;
struct pump_chunk;
struct pump_ack;
struct pump_eof;

/// The source half of a job, to its coordinator only (managed mode: the
/// client's; peer-to-peer: the source agent's own, so never remote).
/// (All interfaces that cross the network: messages/interfaces.hpp.)
using source_participant = caf::typed_actor<
  caf::replies_to<mig_perform>::with<job_stats>,
  caf::replies_to<mig_confirm>::with<bool>>;

/// The destination half of a job, to its coordinator only.
using dest_participant
  = caf::typed_actor<caf::replies_to<mig_finish>::with<finish_cookie>>;

/// A stream pump before it knows its peer: the peer introduces itself.
using pump_greeting
  = caf::typed_actor<caf::replies_to<pump_hello>::with<bool>>;

/// A stream pump, to its peer pump only (either direction).
using pump_peer = caf::typed_actor<caf::reacts_to<pump_chunk>,
                                   caf::reacts_to<pump_ack>,
                                   caf::reacts_to<pump_eof>>;

/// The destination's pump as the source's pump sees it: first greeted,
/// then fed.
using pump_remote = pump_greeting::extend_with<pump_peer>;

/// How a migration runs (docs/architecture.md). Parsed from the CLI's flags;
/// the rules between them are checked by `validate_flags`
/// (migration/rules.hpp).
struct migration_flags {
  std::string dest_uri;    ///< Agent URI (managed, p2p) or testhv:// (direct).
  std::string migrate_uri; ///< Data address override: tcp://HOST[:PORT].
  /// Where the destination hypervisor listens (virsh's --listen-address);
  /// empty: the destination's migration address.
  std::string listen_address;
  bool live = false;
  bool p2p = false;
  bool tunnelled = false;
  bool direct = false;
  bool persistent = false;
  bool undefine_source = false;
  bool suspend = false;
  bool auto_converge = false;
  bool secure = false;
  /// Encrypt the hypervisors' own data connection (native and direct):
  /// QEMU's `tls-creds-x509`, the test hypervisor's mutual TLS. Refused
  /// when the driver cannot, and with --tunnelled (libvirt's
  /// VIR_MIGRATE_TLS).
  bool tls = false;
  std::string dname;              ///< New name on the destination.
  uint64_t bandwidth_mibps = 0;   ///< 0 = unlimited.
  uint32_t timeout_s = 0;         ///< Pause a live guest after this long.
  uint32_t max_downtime_ms = 300; ///< Switch over when the rest fits this.
  uint32_t progress_timeout_ms = 30000; ///< Stall: no progress this long.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, migration_flags& x) {
  return f(caf::meta::type_name("ferry.migration_flags"), x.dest_uri,
           x.migrate_uri, x.listen_address, x.live, x.p2p, x.tunnelled, x.direct, x.persistent,
           x.undefine_source, x.suspend, x.auto_converge, x.secure, x.tls,
           x.dname, x.bandwidth_mibps, x.timeout_s, x.max_downtime_ms,
           x.progress_timeout_ms);
}

/// Progress of a job as `domjobinfo` shows it.
struct job_stats {
  std::string job_id;
  std::string domain;
  std::string mode; ///< managed, p2p, tunnelled, direct
  std::string role; ///< source or destination
  mig_phase phase = mig_phase::none;
  std::string hv_status; ///< Hypervisor's migration status.
  int64_t started_at_ms = 0;
  uint64_t elapsed_ms = 0;
  uint64_t data_total = 0;
  uint64_t data_processed = 0;
  uint64_t data_remaining = 0;
  double mibps = 0;
  double dirty_rate_mibps = 0;
  uint64_t iteration = 0;
  uint64_t expected_downtime_ms = 0;
  uint64_t downtime_ms = 0; ///< Final: source pause to destination resume.
  int64_t paused_at_ms = 0;
  uint32_t throttle = 0;
  uint64_t pump_bytes = 0; ///< Tunnelled: bytes through this agent's pump.
  int32_t pump_credit = -1; ///< Tunnelled: chunks the reader may still send.
  std::string error;
  /// The downtime limit in force (raised by a stall policy), 0 if unknown.
  uint32_t downtime_limit_ms = 0;
  /// Completed, and the destination compared a digest of all guest RAM
  /// sent with the stream (the test hypervisor); QEMU's stream has none.
  bool digest_verified = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_stats& x) {
  return f(caf::meta::type_name("ferry.job_stats"),
           finite_on_save(x.mibps, x.dirty_rate_mibps), x.job_id, x.domain,
           x.mode, x.role, x.phase, x.hv_status, x.started_at_ms,
           x.elapsed_ms, x.data_total, x.data_processed, x.data_remaining,
           x.mibps, x.dirty_rate_mibps, x.iteration, x.expected_downtime_ms,
           x.downtime_ms, x.paused_at_ms, x.throttle, x.pump_bytes,
           x.pump_credit, x.error, x.downtime_limit_ms, x.digest_verified,
           finite_on_load(x.mibps, x.dirty_rate_mibps));
}

/// `migrate` to the source agent (peer-to-peer, tunnelled, direct): the
/// source agent runs the whole job; the reply comes when it ends.
struct migrate_request {
  std::string domain;
  migration_flags flags;
  std::string driver; ///< Set by the session from its binding.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, migrate_request& x) {
  return f(caf::meta::type_name("ferry.migrate_request"), x.domain, x.flags,
           x.driver);
}

/// Where a job's time went, in ms per phase; `connect` is the time before
/// begin (in p2p, the source agent's session to the destination).
struct phase_times {
  uint64_t connect = 0;
  uint64_t begin = 0;
  uint64_t prepare = 0;
  uint64_t perform = 0;
  uint64_t finish = 0;
  uint64_t confirm = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, phase_times& x) {
  return f(caf::meta::type_name("ferry.phase_times"), x.connect, x.begin,
           x.prepare, x.perform, x.finish, x.confirm);
}

/// How a job ended.
struct migration_result {
  std::string job_id;
  std::string domain;      ///< Name on the destination.
  std::string mode;
  /// The driver compared a digest of all guest RAM end to end before the
  /// commit (test driver); false where the stream carries none (QEMU).
  bool digest_verified = false;
  uint64_t total_ms = 0;
  uint64_t downtime_ms = 0;
  uint64_t bytes = 0;
  double mibps = 0;
  std::string warning; ///< E.g. confirm failed after a successful commit.
  phase_times phases;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, migration_result& x) {
  return f(caf::meta::type_name("ferry.migration_result"),
           finite_on_save(x.mibps), x.job_id, x.domain, x.mode,
           x.digest_verified, x.total_ms, x.downtime_ms, x.bytes, x.mibps,
           x.warning, x.phases, finite_on_load(x.mibps));
}

// -- phases -------------------------------------------------------------------

/// begin (source): lock the domain for the job, describe it.
struct mig_begin {
  std::string job_id;
  std::string domain;
  migration_flags flags;
  /// The coordinator, monitored by the source job and the only actor its
  /// door admits. Never read from the wire: the session sets it to the
  /// request's sender (a local coordinator sets itself).
  caf::actor coordinator;
  std::string driver; ///< Set by the session from its binding.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mig_begin& x) {
  return f(caf::meta::type_name("ferry.mig_begin"), x.job_id, x.domain,
           x.flags, x.driver);
}

/// begin's answer: the source job and the domain's description.
struct begin_cookie {
  source_participant source_job;
  std::string xml;        ///< Definition for the destination (dname applied).
  std::string source_agent;
  uint64_t memory_bytes = 0;
  bool was_running = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, begin_cookie& x) {
  return f(caf::meta::type_name("ferry.begin_cookie"), x.source_job, x.xml,
           x.source_agent, x.memory_bytes, x.was_running);
}

/// prepare (destination): create the incoming domain, paused, and a place
/// to send data to.
struct mig_prepare {
  std::string job_id;
  std::string xml;
  migration_flags flags;
  std::string source_agent;
  /// Monitored by the destination job, the only actor its door admits; set
  /// by the session from the request's sender, never read from the wire.
  caf::actor coordinator;
  std::string driver; ///< Set by the session from its binding.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mig_prepare& x) {
  return f(caf::meta::type_name("ferry.mig_prepare"), x.job_id, x.xml,
           x.flags, x.source_agent, x.driver);
}

/// prepare's answer: where the data goes.
struct prepare_cookie {
  dest_participant dest_job;
  std::string data_host; ///< Native: the destination hypervisor's listener.
  uint16_t data_port = 0;
  std::string token;     ///< Native: the listener's one-time secret.
  pump_remote dest_pump; ///< Tunnelled: the destination's stream pump.
  bool data_tls = false; ///< Native: the listener speaks (mutual) TLS only.
  /// Native with TLS: the name the destination's certificate carries, for
  /// a hypervisor that checks it (QEMU's `tls-hostname`).
  std::string data_tls_name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prepare_cookie& x) {
  return f(caf::meta::type_name("ferry.prepare_cookie"), x.dest_job,
           x.data_host, x.data_port, x.token, x.dest_pump, x.data_tls,
           x.data_tls_name);
}

/// perform (source): send memory, pause, send the rest. Answered when the
/// hypervisor reports the destination verified the final digest.
struct mig_perform {
  std::string job_id;
  prepare_cookie cookie;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mig_perform& x) {
  return f(caf::meta::type_name("ferry.mig_perform"), x.job_id, x.cookie);
}

/// finish (destination): with success, check the data arrived complete,
/// commit, resume (unless --suspend); otherwise tear the domain down.
struct mig_finish {
  std::string job_id;
  bool success = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mig_finish& x) {
  return f(caf::meta::type_name("ferry.mig_finish"), x.job_id, x.success);
}

/// finish's answer.
struct finish_cookie {
  bool committed = false;
  int64_t resumed_at_ms = 0; ///< 0 if left paused.
  std::string domain;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, finish_cookie& x) {
  return f(caf::meta::type_name("ferry.finish_cookie"), x.committed,
           x.resumed_at_ms, x.domain);
}

/// What the coordinator tells the source at the end.
enum class confirm_outcome : uint8_t {
  committed = 0, ///< Destination owns the domain: destroy the source copy.
  failed,        ///< Nothing committed: resume the source if it ran.
  unknown,       ///< Finish's answer was lost: keep paused, find out.
};

/// confirm (source).
struct mig_confirm {
  std::string job_id;
  confirm_outcome outcome = confirm_outcome::failed;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mig_confirm& x) {
  return f(caf::meta::type_name("ferry.mig_confirm"), x.job_id, x.outcome);
}

/// Asks a destination what became of a job (outcome-unknown resolution).
struct mig_query_outcome {
  std::string job_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mig_query_outcome& x) {
  return f(caf::meta::type_name("ferry.mig_query_outcome"), x.job_id);
}

/// The destination's answer about a job.
struct mig_outcome {
  /// Torn down, aborted or never prepared here: the source keeps it.
  static constexpr uint8_t not_committed = 0;
  /// Committed and still here: the source copy must go.
  static constexpr uint8_t committed = 1;
  /// Still finishing: ask again later.
  static constexpr uint8_t pending = 2;
  /// Committed, but the copy died with the destination agent (test guests
  /// do): the source's paused copy is the only one left.
  static constexpr uint8_t lost = 3;
  /// Not remembered: the job is older than the newest record the
  /// destination's journal pruned, so it may have committed. The source
  /// must not guess; an operator decides (`migrate-recover --assume`).
  static constexpr uint8_t forgotten = 4;
  uint8_t state = not_committed;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mig_outcome& x) {
  return f(caf::meta::type_name("ferry.mig_outcome"), x.state);
}

// -- job control ----------------------------------------------------------------

/// domjobinfo / domjobabort / migrate-setspeed / migrate-setmaxdowntime.
enum class job_verb : uint8_t {
  info = 0, ///< -> job_stats
  abort,    ///< -> job_stats
  set_speed,
  set_downtime,
  recover,  ///< migrate-recover: ask the destination about the outcome now
};

/// `job_control::value` of `recover`: ask the destination, or take the
/// operator's word for the outcome (`migrate-recover --assume`).
constexpr uint64_t recover_ask = 0;
constexpr uint64_t recover_assume_committed = 1;
constexpr uint64_t recover_assume_failed = 2;

inline const char* to_string(job_verb v) {
  switch (v) {
    case job_verb::info: return "info";
    case job_verb::abort: return "abort";
    case job_verb::set_speed: return "set-speed";
    case job_verb::set_downtime: return "set-downtime";
    case job_verb::recover: return "recover";
  }
  return "unknown";
}

struct job_control {
  job_verb verb = job_verb::info;
  std::string domain;
  uint64_t value = 0; ///< MiB/s, ms, or a recover_* choice.
  std::string driver; ///< Set by the session from its binding.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_control& x) {
  return f(caf::meta::type_name("ferry.job_control"), x.verb, x.domain,
           x.value, x.driver);
}

/// A destination job tells its job manager how it ended (local).
struct job_outcome {
  std::string job_id;
  bool committed = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_outcome& x) {
  return f(caf::meta::type_name("ferry.job_outcome"), x.job_id, x.committed);
}

// -- stream pumps -----------------------------------------------------------------

/// Source pump to destination pump: "I am your peer" (the sender is).
struct pump_hello {
  std::string job_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pump_hello& x) {
  return f(caf::meta::type_name("ferry.pump_hello"), x.job_id);
}

/// Migration bytes, either direction. On the wire a byte block like a
/// `std::vector<char>` (one block, docs/caf-and-qemu.md); in memory
/// `chunk_bytes`, which is never zero-filled and reuses pooled storage.
struct pump_chunk {
  uint64_t seq = 0;
  chunk_bytes data;
};

/// Largest `pump_chunk` an agent accepts (pumps send 512 KiB; benchmarks
/// tried up to 1 MiB). Together with the 1 MiB limit on domain XML it sets
/// the transport's limit on one message (transport/door/door_registry.hpp).
constexpr size_t max_pump_chunk_bytes = size_t{1} << 20;

/// Loads a byte block of at most `max` bytes. CAF 0.17 resizes a byte vector
/// to whatever length the wire claims before reading it, so five bytes from
/// a peer could make an agent allocate gigabytes; check the length first.
template <class Deserializer>
caf::error load_bounded_bytes(Deserializer& f, chunk_bytes& xs, size_t max) {
  size_t n = 0;
  if (auto err = f.begin_sequence(n))
    return err;
  if (n > max)
    return caf::make_error(caf::sec::invalid_argument,
                           "byte block exceeds its limit");
  // Allocated (uninitialised) only after the length check; a message
  // shorter than it claims fails in apply_raw and the block is dropped.
  chunk_bytes tmp(n);
  if (n > 0)
    if (auto err = f.apply_raw(n, tmp.data()))
      return err;
  xs = std::move(tmp);
  return f.end_sequence();
}

/// Saves a byte block exactly as CAF saves a `std::vector<char>`.
template <class Serializer>
caf::error save_bytes(Serializer& f, chunk_bytes& xs) {
  size_t n = xs.size();
  if (auto err = f.begin_sequence(n))
    return err;
  if (n > 0)
    if (auto err = f.apply_raw(n, xs.data()))
      return err;
  return f.end_sequence();
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pump_chunk& x) {
  if constexpr (Inspector::writes_state) {
    return f(caf::meta::type_name("ferry.pump_chunk"), x.seq,
             caf::meta::load_callback([&] {
               return load_bounded_bytes(f, x.data, max_pump_chunk_bytes);
             }));
  } else if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    return f(caf::meta::type_name("ferry.pump_chunk"), x.seq,
             caf::meta::save_callback([&] { return save_bytes(f, x.data); }));
  } else {
    // Printing (to_string): the length, not half a megabyte of bytes.
    auto bytes = x.data.size();
    return f(caf::meta::type_name("ferry.pump_chunk"), x.seq, bytes);
  }
}

/// Credit back: the receiver wrote chunk `seq` to its descriptor.
struct pump_ack {
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pump_ack& x) {
  return f(caf::meta::type_name("ferry.pump_ack"), x.seq);
}

/// The sender's descriptor reached end of file.
struct pump_eof {
  uint64_t seq = 0; ///< Number of chunks sent before.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pump_eof& x) {
  return f(caf::meta::type_name("ferry.pump_eof"), x.seq);
}

} // namespace ferry
