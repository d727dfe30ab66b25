#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "drivers/migration_spec.hpp"
#include "drivers/qemu/convergence_watch.hpp"
#include "drivers/qemu/qemu_process.hpp"
#include "drivers/qemu/qemu_tls.hpp"
#include "drivers/qemu/stall_policy.hpp"
#include "messages/migration.hpp"

namespace ferry {

/// One migration of one QEMU, source or destination side, in QMP terms.
///
/// Source: `migrate-set-capabilities` (`events`, and `auto-converge` when
/// asked), `migrate-set-parameters` (always `max-bandwidth`: QEMU's default
/// is 128 MiB/s; `downtime-limit`; throttle steps), then `migrate` to
/// `tcp:HOST:PORT` or to `fd:NAME` after `getfd`. Progress comes from
/// `query-migrate`; the driver applies the progress timeout itself, since
/// a QEMU migration that never converges stays `active` forever.
///
/// Destination: the QEMU was started `-S -incoming defer`; prepare runs
/// `migrate-incoming` and reads the listening port back; the commit check
/// waits for `completed` and requires the guest `paused`
/// (docs/caf-and-qemu.md's switchover rule).
class qemu_migration {
public:
  /// Starts sending `proc`'s guest to `target` (native or fd); returns
  /// once QEMU accepted `migrate`. A not-live migration pauses first.
  /// `target.tls` uses QEMU's TLS with `tls` (null: refused); otherwise
  /// TLS is switched off for this migration.
  static caf::expected<std::unique_ptr<qemu_migration>>
  start_outgoing(qemu_process& proc, const migration_target& target,
                 bool running, const qemu_tls* tls);

  /// Opens the incoming side: `migrate-incoming` on TCP (port read back) or
  /// on the descriptor in `spec` (passed with `getfd`); with `spec.tls`
  /// the listener takes only QEMU TLS clients with a certificate from the
  /// CA, and the endpoint names our certificate for the source.
  static caf::expected<incoming_endpoint>
  start_incoming(qemu_process& proc, const incoming_spec& spec,
                 const qemu_tls* tls);

  /// Waits up to `wait_ms` for the incoming migration to complete, then
  /// requires the guest paused: the precondition of a commit.
  static caf::error check_incoming(qemu_process& proc, int wait_ms);

  /// `query-migrate` as job statistics; applies the stall policy on the
  /// way (stall_policy.hpp: raise the downtime limit, let QEMU throttle
  /// with --auto-converge, then cancel).
  caf::expected<job_stats> progress(qemu_process& proc);

  caf::error cancel(qemu_process& proc);

  /// `bandwidth` UINT64_MAX or `downtime_ms` 0 leave that one unchanged.
  caf::error tune(qemu_process& proc, uint64_t bandwidth,
                  uint32_t downtime_ms);

  /// QEMU takes no "unlimited" bandwidth: 0 becomes this many bytes/s.
  static constexpr uint64_t unlimited_bandwidth = uint64_t{1} << 50;

private:
  explicit qemu_migration(hv_migration_params params);
  /// The progress timeout: on a stall, takes the stall policy's next step
  /// (raise the downtime limit, wait for auto-converge's throttle, or
  /// cancel with `stall_error_`).
  void check_convergence(qemu_process& proc, const job_stats& st);
  /// What the stall policy judges from: limits, throttle and the marks of
  /// earlier steps.
  stall_input stall_input_for(const job_stats& st,
                              convergence_watch::clock::time_point now) const;
  /// Raises the downtime limit as `step` says; false when QEMU refused it
  /// (the migration is then cancelled).
  bool raise_downtime(qemu_process& proc, const stall_step& step,
                      const std::string& why);
  /// Logs auto-converge's throttle and remembers its marks for the next
  /// judgement.
  void note_throttle(qemu_process& proc, const job_stats& st,
                     const stall_step& step, const std::string& why);
  /// Nothing left to try: cancels the migration, with `stall_error_` saying
  /// what was tried and what the user can change.
  void give_up(qemu_process& proc, const job_stats& st,
               const std::string& why);

  hv_migration_params params_;
  convergence_watch watch_;
  int64_t started_ms_ = 0;
  uint32_t asked_downtime_ms_ = 0; ///< The job's --max-downtime.
  // The stall policy's throttle marks (see stall_input) and the bytes sent
  // at the previous stall step.
  bool throttling_ = false;
  uint32_t throttle_mark_ = 0;
  uint64_t rose_at_ms_ = 0;
  uint64_t processed_at_stall_ = 0;
  uint32_t stall_steps_ = 0;
  std::string stall_error_;
};

} // namespace ferry
