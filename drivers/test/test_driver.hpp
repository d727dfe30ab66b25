#pragma once

#include <memory>
#include <string>

#include <sys/types.h>

#include "drivers/driver.hpp"
#include "drivers/qmp/qmp_client.hpp"
#include "transport/tls_settings.hpp"
#include "transport/uri.hpp"

namespace ferry {

/// How the test driver starts its hypervisor daemon.
struct test_driver_config {
  std::string binary;      ///< ferry-testhv; empty = next to this program.
  host_port listen;        ///< Direct-migration port of the daemon.
  std::string secret_file; ///< Shared secret for direct migration.
  /// The agent's certificate, key and CA: the hypervisor's data
  /// connections use mutual TLS with them. Empty on --insecure-tcp.
  tls_settings tls;
  std::string log_level = "info";
};

/// The `test` driver: an in-memory hypervisor like libvirt's
/// `test:///default`, except that guests are real. It runs `ferry-testhv`
/// as a child process (guest RAM lives there, so the agent stays small) and
/// drives it over QMP. Running guests die with the agent; definitions
/// persist in the state directory.
class test_driver : public driver {
public:
  test_driver(driver_context ctx, test_driver_config cfg);
  ~test_driver() override;

  std::string name() const override {
    return "test";
  }
  std::string hypervisor_uri() const override {
    return uri_;
  }
  void handle_event(const driver_event& ev) override;

  /// Native and direct data connections are TLS exactly when the running
  /// hypervisor said so in its greeting (it has the agent's certificates).
  caf::expected<data_path>
  data_path_for(const migration_flags& flags) const override;

  /// The QMP connection to the hypervisor (for migration operations).
  qmp::client* hypervisor() {
    return qmp_.get();
  }
  /// Shared secret for direct migration ("" if none configured).
  const std::string& secret_file() const {
    return cfg_.secret_file;
  }

protected:
  caf::error do_open() override;
  void do_close() override;
  caf::error check_definition(domain_definition& def) override;
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
  caf::error spawn_hypervisor();
  caf::error call(const std::string& cmd, const std::string& domain);
  caf::expected<qmp::json> call_json(const std::string& cmd, qmp::json args,
                                     int timeout_ms = 10000, int fd = -1);
  /// Hands `fd` to the hypervisor under `name` (and closes our copy).
  caf::error pass_fd(const std::string& name, int fd);
  void on_incoming(const qmp::json& data);

  test_driver_config cfg_;
  pid_t pid_ = -1;
  std::unique_ptr<qmp::client> qmp_;
  std::string uri_;
  bool tls_ = false; ///< The hypervisor's greeting: data over mutual TLS.
  bool closing_ = false;
};

} // namespace ferry
