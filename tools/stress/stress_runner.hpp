#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "config/client_settings.hpp"
#include "tools/harness/cluster.hpp"

namespace ferry::stress {

/// What one load run does (docs/recovery.md, "Load").
struct stress_options {
  uint32_t migrations = 50; ///< Concurrent p2p migrations among 3 agents.
  uint32_t sessions = 200;  ///< Concurrent client sessions on one agent.
  uint32_t soak_seconds = 600;
  uint32_t soak_parallel = 4; ///< Migrations in flight during the soak.
  uint32_t domain_mib = 8;
  std::vector<std::string> soak_modes{"p2p", "tunnelled", "managed"};
  double rss_slack = 0.10; ///< Allowed RSS growth over idle.
  int fd_slack = 4;        ///< Allowed extra descriptors over idle.
  bool tls = true;         ///< false: agents on --insecure-tcp.
  /// Seconds to wait, agents idle, after the idle measurement and before
  /// the final one (prints their pids: time to attach gdb or heaptrack).
  uint32_t hold_seconds = 0;
};

/// Runs the load against three real agents: concurrent migrations, many
/// sessions, a soak of random migrations, then checks that every domain
/// runs on exactly one agent and that no agent leaked memory or
/// descriptors. Prints one line per step and a verdict.
class stress_runner {
public:
  stress_runner(caf::actor_system& sys, harness::cluster& cl,
                tls_settings tls, stress_options opts, std::ostream& out);

  /// Returns the number of failed checks (0 = pass).
  int run();

private:
  struct sample {
    uint64_t rss_kib = 0;
    int fds = 0;
    int threads = 0;
  };

  std::string setup();
  /// Runs `migrate` for `dom` to `to`; updates the owner on success.
  bool migrate(const std::string& dom, const std::string& to,
               const std::string& mode, std::string* why);
  int concurrent_migrations();
  int many_sessions();
  int soak();
  int check_ownership();
  /// Migrates every domain back to where it was when idle was measured, so
  /// the leak check compares the same guests' RAM on each agent.
  int return_home();
  int check_leaks();
  std::map<std::string, sample> measure();
  void settle();
  /// Prints the agents' pids and waits `hold_seconds` (if any).
  void hold(const char* when);
  client_settings settings_for(const std::string& node) const;
  std::string owner_of(const std::string& dom);
  void fail(const std::string& what);

  caf::actor_system& sys_;
  harness::cluster& cl_;
  tls_settings tls_;
  stress_options opts_;
  std::ostream& out_;
  std::vector<std::string> nodes_{"a", "b", "c"};
  std::vector<std::string> domains_;
  std::mutex mtx_; ///< Guards owner_ and failures_.
  std::map<std::string, std::string> owner_;
  std::vector<std::string> failures_;
  std::map<std::string, sample> idle_;
  std::map<std::string, std::string> home_; ///< Owners when idle.
};

} // namespace ferry::stress
