#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <sys/types.h>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "drivers/driver.hpp"
#include "drivers/qemu/qemu_command_line.hpp"
#include "drivers/qmp/qmp_client.hpp"

namespace ferry {

/// One running QEMU for one domain, and the QMP connection to it.
///
/// Started with posix_spawn (util/process: a reaper thread collects it the
/// moment it exits and reports `QEMU_EXIT`), or reattached after an agent
/// restart from the record file it left in the run directory. QMP events
/// (`STOP`, `RESUME`, `SHUTDOWN`, `MIGRATION`, …) are reported as driver
/// events for the domain; `MIGRATION` carries `direction` (`in` or `out`).
///
/// Calls block the caller (the driver actor's own thread) for at most
/// their timeout.
class qemu_process {
public:
  using event_sink = std::function<void(driver_event)>;

  /// Where the process keeps its files: `DIR/NAME.json` (record),
  /// `DIR/NAME.log` (QEMU's output), `DIR/UUID.qmp` (QMP socket),
  /// `DIR/NAME.serial.log` (the first serial port's output, appended).
  struct paths {
    std::string run_dir;
    std::string record;
    std::string log;
    std::string console; ///< The test guest's debug console.
    std::string serial_log; ///< `DIR/NAME.serial.log`: the guest's console.
    std::string qmp;
    static paths of(const std::string& run_dir, const domain_definition& def);
  };

  /// Starts QEMU for `cmd.def`, waits for QMP and records pid and socket.
  static caf::expected<std::unique_ptr<qemu_process>>
  launch(qemu_command_line cmd, const std::string& run_dir, event_sink sink);

  /// Reconnects to the QEMU a previous agent left running, from its record.
  /// Fails (and removes the record) if that QEMU is gone.
  static caf::expected<std::unique_ptr<qemu_process>>
  reattach(const std::string& record_path, event_sink sink);

  ~qemu_process();

  qemu_process(const qemu_process&) = delete;
  qemu_process& operator=(const qemu_process&) = delete;

  /// Runs one QMP command. Errors are one line naming the domain and the
  /// command: "QEMU of domain 'vm1' refused 'migrate': …".
  caf::expected<qmp::json> call(const std::string& command,
                                qmp::json args = qmp::json::object(),
                                int timeout_ms = default_timeout_ms,
                                int fd = -1);

  /// Hands `fd` to QEMU as `name` (`getfd`, SCM_RIGHTS in the same
  /// sendmsg). Always closes our copy.
  caf::error pass_fd(const std::string& name, int fd);

  /// `quit`, then SIGKILL if QEMU has not exited within `timeout_ms`.
  /// Removes the record.
  void terminate(int timeout_ms = 3000);

  /// Removes the record and socket of a QEMU that exited on its own.
  void forget();

  /// The domain definition this QEMU runs (from launch or the record).
  const domain_definition& definition() const {
    return def_;
  }
  pid_t pid() const {
    return pid_;
  }
  /// Directory holding the record, log and socket (and digest dumps).
  const std::string& run_dir() const {
    return paths_.run_dir;
  }
  /// True for a QEMU this agent started (false: reattached).
  bool own_child() const {
    return child_;
  }
  /// Marks migrations of this QEMU as incoming (`MIGRATION` direction).
  void set_incoming(bool incoming) {
    incoming_ = incoming;
  }
  bool incoming() const {
    return incoming_;
  }
  /// Unix ms of the last `STOP` event (0 if none): when QEMU paused.
  int64_t last_stop_ms() const {
    return last_stop_ms_;
  }
  /// The last line of QEMU's log (its last complaint), or "".
  std::string log_tail() const;
  /// Rewrites the record file (pid, socket, definition, direction).
  caf::error write_record() const;

  static constexpr int default_timeout_ms = 10000;

private:
  qemu_process(domain_definition def, paths p, pid_t pid, bool child,
               event_sink sink);
  caf::error connect_qmp(int timeout_ms);
  void on_qmp_event(const qmp::json& ev);

  domain_definition def_;
  paths paths_;
  pid_t pid_;
  bool child_;
  event_sink sink_;
  std::unique_ptr<qmp::client> qmp_;
  std::string what_;
  std::atomic<bool> incoming_{false};
  std::atomic<int64_t> last_stop_ms_{0};
  std::atomic<bool> exit_reported_{false};
};

} // namespace ferry
