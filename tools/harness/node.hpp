#pragma once

#include <cstdint>
#include <csignal>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ferry::harness {

/// How to start one agent process.
struct node_options {
  std::string name;
  std::string host = "127.0.0.1";
  /// Address ferryd listens on, if not `host` (e.g. `0.0.0.0`); clients
  /// and peers still reach it at `host`.
  std::string listen_host;
  uint16_t port = 0;           ///< Agent port; the test hypervisor uses +1.
  std::vector<std::string> drivers{"test"};
  bool tls = true;
  std::string cert, key, ca;   ///< Agent's TLS files (tls = true).
  std::string state_dir;
  std::string log_path;
  std::string secret_file;     ///< Test hypervisors' shared secret.
  std::vector<std::string> extra_args;
  std::string netns;           ///< Run inside this network namespace.
};

/// One real `ferryd` process under test: started, stopped, frozen, killed
/// and restarted on demand, with its log kept in a file.
class node {
public:
  node(std::string tools_dir, node_options opts);
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Starts ferryd and waits until it logs that it serves (or fails).
  /// Returns "" on success, else the reason (with the log's tail).
  std::string start(int timeout_ms = 15000);
  /// `sig` (SIGTERM or SIGINT), then SIGKILL after `timeout_ms`. Returns
  /// the wait status.
  int stop(int timeout_ms = 5000, int sig = SIGTERM);
  /// SIGKILL, no cleanup (a crash).
  void kill();
  /// SIGSTOP / SIGCONT (a frozen host).
  void freeze();
  void thaw();
  bool running() const;

  const node_options& options() const {
    return opts_;
  }
  /// `ferry+tls://HOST:PORT/DRIVER` for this node (default: its first
  /// driver).
  std::string uri(const std::string& driver = {}) const;
  /// `testhv://HOST:PORT+1`.
  std::string hypervisor_uri() const;
  pid_t pid() const {
    return pid_;
  }
  /// The last `lines` lines of the log.
  std::string log_tail(size_t lines = 20) const;
  /// The whole log.
  std::string log() const;
  /// Waits until the QEMU test guest of domain `dom` on this node reports on
  /// its debug console that its RAM is written (so a migration has real
  /// data to move). False after `timeout_ms`.
  bool wait_guest_filled(const std::string& dom, int timeout_ms = 30000) const;

private:
  std::string tools_dir_;
  node_options opts_;
  pid_t pid_ = -1;
  size_t log_offset_ = 0; ///< Where the current run's log starts.
};

/// Finds a port P such that P and P+1 are free on `host`.
uint16_t free_port_pair(const std::string& host = "127.0.0.1");

/// Directory holding ferryd, ferry and ferry-testhv: $FERRY_TOOLS_DIR, else
/// the directory of the running program.
std::string tools_dir();

/// The QEMU test guest kernel: $FERRY_TEST_GUEST, else the one Meson
/// builds next to the tools.
std::string test_guest_path();

} // namespace ferry::harness
