#pragma once

// The driver interface on one screen: what a hypervisor driver implements,
// in four small interfaces (docs/drivers.md). `driver` (drivers/driver.hpp)
// derives from all four and does everything hypervisors share (the domain
// table, state rules, definitions, the journal, recovery's rules) by
// calling these hooks; a driver derives from `driver` and fills them. The
// two examples: drivers/test/test_driver.hpp and
// drivers/qemu/qemu_driver.hpp.

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "drivers/data_path.hpp"
#include "drivers/domain_definition.hpp"
#include "drivers/migration_spec.hpp"
#include "messages/domain.hpp"
#include "messages/migration.hpp"

namespace ferry {

struct domain_entry;

/// Running guests: start, stop, pause, inspect. Called only for states the
/// base allows (it refuses "suspend a shut-off domain" itself).
class lifecycle_hooks {
public:
  virtual ~lifecycle_hooks() = default;
  /// `test` or `qemu`.
  virtual std::string name() const = 0;
  /// Where the hypervisor itself can be reached (`testhv://…`), or "".
  virtual std::string hypervisor_uri() const = 0;

protected:
  /// Starts or attaches the hypervisor; reattaches to guests that survived
  /// an agent restart (the base then reconciles the journal).
  virtual caf::error do_open() = 0;
  virtual void do_close() = 0;
  /// Refuses definitions this hypervisor cannot run (wrong type, no
  /// kernel) and completes what the definition leaves to the hypervisor
  /// (QEMU's versioned machine type), at define and in prepare.
  virtual caf::error check_definition(domain_definition& def) = 0;
  virtual caf::error do_start(const domain_entry& dom) = 0;
  virtual caf::error do_destroy(const domain_entry& dom) = 0;
  virtual caf::error do_suspend(const domain_entry& dom) = 0;
  virtual caf::error do_resume(const domain_entry& dom) = 0;
  virtual caf::expected<domain_digest> do_digest(const domain_entry& dom) = 0;
};

/// Sending a guest away (libvirt's perform): the hypervisor's own transfer.
class migration_source_hooks {
public:
  virtual ~migration_source_hooks() = default;
  /// What this driver's data connections will be for a migration with
  /// `flags`: whether the native and the direct hypervisor-to-hypervisor
  /// connections are TLS, and a hint for a plain one. Refuses `--tls` when
  /// the driver cannot honour it.
  virtual caf::expected<data_path>
  data_path_for(const migration_flags& flags) const = 0;

protected:
  /// Starts the transfer towards `target` and returns at once.
  virtual caf::error do_migrate_start(const domain_entry& dom,
                                      const migration_target& target) = 0;
  /// Progress of an outgoing or incoming transfer (`hv_status` final:
  /// `completed`, `failed`, `cancelled`).
  virtual caf::expected<job_stats> do_migrate_progress(const domain_entry& dom)
    = 0;
  /// Bandwidth (bytes/s, UINT64_MAX: unchanged) and downtime limit (ms, 0:
  /// unchanged) of a running transfer.
  virtual caf::error do_migrate_tune(const domain_entry& dom,
                                     uint64_t bandwidth, uint32_t downtime_ms)
    = 0;
};

/// Receiving a guest (libvirt's prepare and finish).
class migration_destination_hooks {
public:
  virtual ~migration_destination_hooks() = default;

protected:
  /// Creates the incoming guest, paused, and where the data goes.
  virtual caf::expected<incoming_endpoint>
  do_migrate_prepare(const domain_entry& dom, const incoming_spec& spec) = 0;
  /// True if the incoming transfer completed, verified, and the guest is
  /// paused: the precondition of a commit (the switchover rule,
  /// docs/caf-and-qemu.md).
  virtual caf::error do_check_incoming(const domain_entry& dom) = 0;
};

/// Undoing a transfer: domjobabort, a failed job, and restart recovery on
/// either side (docs/recovery.md) all need the hypervisor to stop whatever
/// migration it may still run for a domain. Must be harmless when none runs.
class recovery_hooks {
public:
  virtual ~recovery_hooks() = default;

protected:
  virtual caf::error do_migrate_cancel(const domain_entry& dom) = 0;
};

} // namespace ferry
