#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "drivers/job_role.hpp"
#include "util/files.hpp"

namespace ferry {

/// One migration job as this agent remembers it across crashes.
struct job_record {
  std::string job_id;
  job_role role = job_role::source;
  std::string domain; ///< Name on this host.
  std::string driver;
  mig_phase phase = mig_phase::begin; ///< One of `role`'s (`role_of`).
  bool was_running = false;      ///< source: ran before the job
  bool undefine_source = false;  ///< source: --undefinesource
  std::string dest_uri;          ///< source: where to ask about the outcome
  int64_t updated_ms = 0;        ///< Unix ms of the last write
};

/// The agent's durable job journal: one JSON file per job in
/// `STATE_DIR/jobs/`, each phase change written atomically (temp file,
/// rename) *before* the agent acts on it, and fsynced where a host crash
/// would otherwise lose something another host relies on (`durability_of`).
/// The destination's commit is recorded here before the guest is resumed;
/// destination records stay afterwards as the answer to "did job X
/// commit?" (pruned to the newest 1000). Thread-safe; writes block, so
/// only detached actors (driver actors) call `write` and `remove`. Reads
/// (`find`, `records`, `may_have_forgotten`) never wait for a disk write:
/// the files are written outside the lock that guards the in-memory view,
/// so the job manager may answer from a scheduler thread.
class job_journal {
public:
  /// What writing `rec` must survive. Every record survives a crash of the
  /// agent (the page cache outlives it). Only records that stay meaningful
  /// after the *host* crashes are fsynced: the destination's commit (the
  /// source may ask about it after the destination host reboots) and the
  /// rare recovery states. The hot path's records (source begin, perform,
  /// verified; destination prepared) describe guests that a host crash kills
  /// anyway, so losing them changes no outcome; docs/recovery.md has the
  /// case-by-case argument.
  static files::durability durability_of(const job_record& rec);

  /// `keep`: finished destination records kept (see prune).
  explicit job_journal(std::string dir, size_t keep = 1000);

  /// Creates the directory and loads every record; unreadable files are
  /// reported and skipped.
  caf::error open();

  caf::error write(job_record rec);
  caf::error remove(const std::string& job_id);

  std::vector<job_record> records() const;
  std::optional<job_record> find(const std::string& job_id) const;

  const std::string& dir() const {
    return dir_;
  }

  /// Keeps the newest `keep` finished destination records. Called at start
  /// and after every `prune_every` finished records.
  void prune();
  void prune(size_t keep);

  static constexpr size_t prune_every = 100;

  /// The newest update time (Unix ms) of any finished record pruned so
  /// far, 0 if none; kept in `DIR/pruned-before` across restarts. A job
  /// created before it may have committed here and been forgotten.
  int64_t pruned_before_ms() const;

  /// How far a source's clock (which stamps job ids) may be ahead of ours
  /// (which stamps records) without a pruned commit going unnoticed.
  static constexpr int64_t max_clock_skew_ms = 60 * 1000;

  /// True when a job created at `created_ms` (its id's time, the source's
  /// clock) is older than a record pruned here: it may have committed on
  /// this host and been forgotten, so "not committed" would be a guess.
  bool may_have_forgotten(int64_t created_ms) const;

private:
  /// What is kept in memory of a finished destination record written in
  /// this run: the outcome answer and what rewriting the file needs. A
  /// full job_record is more than twice the size, and a busy destination
  /// keeps `keep` of these for as long as it runs.
  struct finished_entry {
    std::string domain;
    std::string driver;
    mig_phase phase = mig_phase::committed;
    int64_t updated_ms = 0;
  };

  std::string path_of(const std::string& job_id) const;
  std::string watermark_path() const;
  static job_record expand(const std::string& job_id, const finished_entry& e);

  std::string dir_;
  /// Guards the maps and counters below; never held across disk I/O.
  mutable std::mutex mtx_;
  /// Serialises record files' writes and removals (one writer per file at
  /// a time; `write_atomic`'s temporary name is per process, not thread).
  std::mutex io_mtx_;
  /// Serialises prunes: the watermark only ever moves forward.
  std::mutex prune_mtx_;
  /// Unfinished records, and every record loaded by `open` (the replay
  /// after a restart reads them whole).
  std::map<std::string, job_record> records_;
  std::map<std::string, finished_entry> finished_;
  size_t keep_;
  size_t finished_since_prune_ = 0;
  int64_t pruned_before_ms_ = 0;
};

} // namespace ferry
