#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/test/hv/guest.hpp"
#include "drivers/test/hv/migration.hpp"
#include "transport/uri.hpp"

namespace ferry {
class tls_context;
} // namespace ferry

namespace ferry::testhv {

using json = nlohmann::json;

/// The command-level error a QMP-style reply carries.
struct command_error {
  std::string cls; ///< `GenericError`, `DeviceNotFound`, …
  std::string desc;
};

/// The test hypervisor: a table of guests and their migrations, driven by
/// QMP-style commands (see docs/test-driver.md for the command list). The
/// daemon (`ferry-testhv`) feeds it from its control socket; the direct
/// migration listener feeds it incoming guests.
///
/// Events (`MIGRATION`, `DOMAIN_INCOMING`, `STOP`, `RESUME`) go to the sink
/// given at construction, from whatever thread caused them.
class hypervisor {
public:
  using event_sink = std::function<void(const json&)>;

  /// With `tls` (the agent's certificate, key and CA), the native data
  /// path and direct migrations run over mutual TLS only; without, plain
  /// TCP (an agent on --insecure-tcp).
  hypervisor(std::string secret, std::shared_ptr<const tls_context> tls,
             event_sink sink);

  /// Whether this hypervisor's TCP data connections use TLS.
  bool tls() const {
    return tls_ != nullptr;
  }
  ~hypervisor();

  /// Executes one command. `fds` holds descriptors that came with it; the
  /// hypervisor takes those it uses (getfd) and leaves the rest.
  json execute(const std::string& command, const json& args,
               std::vector<int>& fds);

  /// Serves one direct-migration connection (auth, definition, stream).
  /// Blocks until the migration ends; called on a thread of the listener.
  void serve_direct(int fd);

  /// Destroys every guest and stops every migration.
  void shutdown();

private:
  struct slot;
  using slot_ptr = std::shared_ptr<slot>;

  slot_ptr find(const std::string& name);
  slot_ptr must_find(const std::string& name);
  /// The domain `name`, refused if it already migrates.
  slot_ptr must_find_idle(const std::string& name);
  json run(const std::string& command, const json& args,
           std::vector<int>& fds);
  json domain_create(const json& args);
  json domain_destroy(const json& args);
  json query_status(const json& args);
  json query_domains();
  json domain_digest(const json& args);
  json migrate_incoming(const json& args);
  json migrate_out(const json& args);
  json migrate_direct(const json& args);
  /// Registers an offered guest as incoming and answers the source: `ok`,
  /// or why not. Null when the migration does not go ahead.
  slot_ptr admit_incoming(channel& ch, const domain_definition& def);
  /// A direct migration's end as a `DOMAIN_INCOMING` event. A completed
  /// guest runs unless the offer said `suspend`; a failed one is dropped,
  /// but one whose outcome is unknown stays (paused) for the agents to
  /// settle.
  void report_incoming(slot& s, const std::string& name,
                       const std::string& xml, bool suspend, bool persistent);
  json query_migrate(const json& args);
  json migrate_cancel(const json& args);
  json migrate_set_parameters(const json& args);
  json getfd(const json& args, std::vector<int>& fds);
  int take_fd(const std::string& uri);
  void emit(const std::string& event, json data);
  status_callback migration_events(const std::string& name,
                                   const char* direction);

  std::string secret_;
  std::shared_ptr<const tls_context> tls_;
  event_sink sink_;
  std::mutex mtx_;
  std::map<std::string, slot_ptr> slots_;
  std::map<std::string, int> named_fds_;
};

/// Parses migration knobs from a command's arguments (QEMU's names:
/// `max-bandwidth` bytes/s, `downtime-limit` ms, plus ferry's
/// `progress-timeout` ms, `auto-converge`, `live`).
mig_params params_from_json(const json& args, mig_params base = {});

/// Renders statistics as `query-migrate` returns them.
json stats_to_json(const mig_stats& s);

} // namespace ferry::testhv
