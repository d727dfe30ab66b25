#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "drivers/data_path.hpp"
#include "drivers/domain_definition.hpp"
#include "drivers/driver_hooks.hpp"
#include "drivers/job_role.hpp"
#include "drivers/migration_spec.hpp"
#include "messages/domain.hpp"
#include "messages/migration.hpp"

namespace ferry {

struct job_record;

/// Something the hypervisor did on its own, reported from any thread. The
/// driver actor hands it back to `driver::handle_event` on its own thread.
struct driver_event {
  std::string kind;   ///< Hypervisor event name, e.g. `MIGRATION`.
  std::string domain; ///< Domain it concerns, if any.
  std::string payload; ///< The event's data as JSON text.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, driver_event& x) {
  return f(caf::meta::type_name("ferry.driver_event"), x.kind, x.domain,
           x.payload);
}

/// Where a driver keeps its files and how it reports events.
struct driver_context {
  std::string agent_name;
  std::string state_dir; ///< This driver's own directory.
  std::function<void(driver_event)> on_event;
  /// The agent's job journal (shared by its drivers); may be null in tests.
  std::shared_ptr<class job_journal> journal;
};

/// One defined or active domain as the driver tracks it.
struct domain_entry {
  domain_definition def;
  bool persistent = false;
  domain_state state = domain_state::shutoff;
  std::string job_id; ///< Migration job holding this domain, if any.
};

/// What every hypervisor driver shares (libvirt's model). Public calls
/// implement the domain table, state rules ("cannot suspend a shut-off
/// domain"), persistent definitions written atomically under `state_dir`,
/// the migration phases with their journal records, and restart recovery.
/// Subclasses fill the hooks of drivers/driver_hooks.hpp with what only
/// they know: how to run, pause, inspect and migrate a guest
/// (docs/drivers.md).
///
/// Not thread-safe: one driver actor owns it and calls it from one thread.
/// Calls may block on the hypervisor for a bounded time.
class driver : public lifecycle_hooks,
               public migration_source_hooks,
               public migration_destination_hooks,
               public recovery_hooks {
public:
  explicit driver(driver_context ctx);
  ~driver() override;

  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;

  /// Loads persistent definitions and starts or attaches the hypervisor.
  caf::error open();
  /// Stops the hypervisor side; running test guests end here.
  void close();

  std::vector<domain_info> list(bool all) const;
  caf::expected<domain_info> define(const std::string& xml);
  caf::error undefine(const std::string& name);
  caf::error start(const std::string& name);
  caf::error destroy(const std::string& name);
  caf::error suspend(const std::string& name);
  caf::error resume(const std::string& name);
  caf::expected<domain_info> info(const std::string& name) const;
  caf::expected<std::string> xml(const std::string& name) const;
  caf::expected<domain_digest> digest(const std::string& name);
  driver_info describe() const;

  /// Applies a hypervisor event (called on the driver actor's thread).
  virtual void handle_event(const driver_event& ev);

  // -- migration, source side (libvirt's begin/perform/confirm) ---------------

  /// Locks `name` for job `job_id` and describes it; `dname` renames it for
  /// the destination. Journals the job (phase begin) first.
  caf::expected<begin_info> migrate_begin(const std::string& name,
                                          const std::string& job_id,
                                          const std::string& dname,
                                          const std::string& dest_uri = {},
                                          bool undefine_source = false);
  /// Records a phase change of a job of this driver in the journal.
  caf::error journal_phase(const std::string& job_id, mig_phase phase);
  /// After an agent restart: applies the recovery rule for `rec`
  /// (docs/recovery.md). Returns true if the job needs the destination's
  /// answer (the caller starts an outcome resolution, the domain locked).
  caf::expected<bool> recover(const job_record& rec);
  /// Starts the hypervisor's migration towards `target`; returns at once.
  caf::error migrate_start(const std::string& name,
                           const migration_target& target);
  /// Progress of an outgoing or incoming migration.
  caf::expected<job_stats> migrate_progress(const std::string& name);
  caf::error migrate_cancel(const std::string& name);
  caf::error migrate_tune(const std::string& name, uint64_t bandwidth,
                          uint32_t downtime_ms);
  /// Ends the job on the source: `committed` destroys the local copy (and
  /// undefines it with `undefine`), `failed` resumes it if it `was_running`,
  /// `unknown` keeps it paused and the job lock held.
  caf::error migrate_confirm(const std::string& name,
                             const std::string& job_id,
                             confirm_outcome outcome, bool undefine,
                             bool was_running);

  // -- migration, destination side (prepare/finish) ---------------------------

  /// Creates the incoming domain, paused, locked for `job_id`.
  caf::expected<incoming_endpoint> migrate_prepare(const std::string& job_id,
                                                   domain_definition def,
                                                   const incoming_spec& spec);
  /// With `success`: checks the data arrived complete and verified, commits,
  /// resumes unless `suspend`, persists with `persistent`. Without: tears
  /// the incoming domain down. Returns the resume time (Unix ms) or 0.
  caf::expected<int64_t> migrate_finish(const std::string& name,
                                        const std::string& job_id,
                                        bool success, bool suspend,
                                        bool persistent);

  /// The entry for `name`, or an error naming it.
  caf::expected<domain_entry*> find(const std::string& name);

  /// The entry for `name` if migration job `job_id` holds it; a stale or
  /// foreign job gets `stale_message`.
  caf::expected<domain_entry*> held_by(const std::string& name,
                                       const std::string& job_id);

protected:
  /// Writes (or, for a transient domain, removes) the definition file.
  caf::error persist(const domain_entry& dom);
  /// Marks a domain shut off, dropping it if it is transient.
  void mark_shutoff(const std::string& name);
  /// Adds a domain created by the hypervisor or a migration.
  domain_entry& adopt(domain_definition def, bool persistent,
                      domain_state state);
  domain_info to_info(const domain_entry& dom) const;
  std::string definition_path(const std::string& name) const;

private:
  /// `recover`'s rule for each side (docs/recovery.md).
  void recover_destination(const job_record& rec, bool active);
  caf::expected<bool> recover_source(const job_record& rec);

  /// `migrate_confirm`'s three outcomes (docs/architecture.md, "Ownership").
  void confirm_committed(domain_entry& d, const std::string& job_id,
                         bool undefine);
  caf::error confirm_failed(domain_entry& d, const std::string& job_id,
                            bool was_running);
  caf::error confirm_unknown(domain_entry& d, const std::string& job_id);

  /// `migrate_finish`: tear the incoming copy down (journal `aborted`), or
  /// commit it (journal `committed`, then resume unless `suspend`).
  void abort_incoming(domain_entry& d, const std::string& job_id);
  caf::expected<int64_t> commit_incoming(domain_entry& d,
                                         const std::string& job_id,
                                         bool suspend, bool persistent);

protected:
  driver_context ctx_;
  std::map<std::string, domain_entry> domains_;
};

using driver_ptr = std::unique_ptr<driver>;

} // namespace ferry
