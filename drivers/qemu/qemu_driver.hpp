#pragma once

#include <map>
#include <optional>
#include <memory>
#include <string>

#include "drivers/driver.hpp"
#include "drivers/qemu/qemu_machines.hpp"
#include "drivers/qemu/qemu_migration.hpp"
#include "drivers/qemu/qemu_process.hpp"
#include "drivers/qemu/qemu_tls.hpp"
#include "transport/tls_settings.hpp"

namespace ferry {

/// How the qemu driver runs QEMU.
struct qemu_driver_config {
  std::string binary = "qemu-system-x86_64";
  /// The agent's certificate, key and CA, for `--tls` (QEMU's own
  /// `tls-creds-x509`). Empty on --insecure-tcp: `--tls` is refused.
  tls_settings tls;
};

/// The `qemu` driver: one real QEMU process per active domain (TCG, no
/// default devices, no display), driven over QMP on a unix socket in
/// `STATE_DIR/qemu/run/`. Each QEMU leaves a record there (pid, socket,
/// definition) so that an agent restarted after a crash reattaches to the
/// guests it left running; a clean agent stop ends them, like the test
/// driver's guests.
///
/// Migration is QEMU's own pre-copy: native (`tcp:`) or through the agents'
/// stream pumps (`fd:`); see docs/qemu.md. With `--tls` the native path
/// uses QEMU's own TLS with the agent's certificates (`qemu_tls`). QEMU has
/// no migration manager of its own, so `--direct` is refused.
class qemu_driver : public driver {
public:
  qemu_driver(driver_context ctx, qemu_driver_config cfg);
  ~qemu_driver() override;

  std::string name() const override {
    return "qemu";
  }
  std::string hypervisor_uri() const override {
    return {};
  }
  void handle_event(const driver_event& ev) override;

  /// The native path is TLS only with `--tls` (QEMU's `tls-creds-x509`),
  /// which needs the agent's certificates; there is no direct path.
  caf::expected<data_path>
  data_path_for(const migration_flags& flags) const override;

protected:
  caf::error do_open() override;
  void do_close() override;
  caf::error check_definition(domain_definition& def) override;
  /// Replaces an alias or no machine type by QEMU's versioned name, or
  /// refuses a machine this host's QEMU lacks (qemu_machines.hpp).
  caf::error record_machine(domain_definition& def);
  caf::error do_start(const domain_entry& dom) override;
  caf::error do_destroy(const domain_entry& dom) override;
  caf::error do_suspend(const domain_entry& dom) override;
  caf::error do_resume(const domain_entry& dom) override;
  caf::expected<domain_digest> do_digest(const domain_entry& dom) override;
  caf::error do_migrate_start(const domain_entry& dom,
                              const migration_target& target) override;
  caf::expected<job_stats>
  do_migrate_progress(const domain_entry& dom) override;
  caf::error do_migrate_cancel(const domain_entry& dom) override;
  caf::error do_migrate_tune(const domain_entry& dom, uint64_t bandwidth,
                             uint32_t downtime_ms) override;
  caf::expected<incoming_endpoint>
  do_migrate_prepare(const domain_entry& dom,
                     const incoming_spec& spec) override;
  caf::error do_check_incoming(const domain_entry& dom) override;

private:
  std::string run_dir() const;
  caf::expected<qemu_process*> process_of(const domain_entry& dom);
  caf::expected<std::unique_ptr<qemu_process>>
  launch(const domain_definition& def, bool incoming);
  void reattach_all();
  void adopt_running(std::unique_ptr<qemu_process> proc);
  void on_qemu_exit(const driver_event& ev);
  /// Drops migration state of domains no job holds any more, and
  /// transient domains a job left shut off.
  void sweep();

  qemu_driver_config cfg_;
  /// What `-machine help` listed, read at the first define or prepare.
  std::optional<qemu_machines> machines_;
  std::optional<qemu_tls> tls_; ///< Credentials for --tls, if any.
  std::string tls_error_;       ///< Why there are none (for --tls).
  std::map<std::string, std::unique_ptr<qemu_process>> procs_;
  std::map<std::string, std::unique_ptr<qemu_migration>> migrations_;
  std::map<std::string, std::string> exit_reasons_;
  bool closing_ = false;
};

} // namespace ferry
