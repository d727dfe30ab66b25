#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace ferry::process {

/// Describes a child to start.
struct spawn_request {
  std::vector<std::string> argv;
  /// (parent fd, child fd) pairs the child inherits; all else is closed.
  std::vector<std::pair<int, int>> fds;
  /// Redirect the child's stdout and stderr here (e.g. a log file); -1 keeps
  /// the parent's.
  int output_fd = -1;
  /// Separate redirections, applied after `output_fd`; -1 = unchanged.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  /// Extra environment entries ("NAME=value"), added to the parent's;
  /// each replaces the parent's entry of the same name.
  std::vector<std::string> env;
};

/// Starts a child with posix_spawn (safe in a multithreaded process).
/// Returns its pid or -1 with `err` set.
pid_t spawn(const spawn_request& req, std::string& err);

/// Called once with the child's wait status when it exits. The reaper
/// thread collects every child promptly (PID 1 here reaps orphans ~1.2 s
/// late, docs/caf-and-qemu.md), so callers never call waitpid themselves.
void on_exit(pid_t pid, std::function<void(int status)> callback);

/// Blocks until `pid` has exited or `timeout_ms` passed; true if it exited.
/// With `status`, receives the wait status.
bool wait_exit(pid_t pid, int timeout_ms, int* status = nullptr);

/// Sends `sig` if the child is still running.
void kill_child(pid_t pid, int sig);

/// CPU seconds (user + system, all threads, not children) process `pid`
/// has used, from /proc/PID/stat; -1 when it cannot be read (gone).
double cpu_seconds(pid_t pid);

/// Directory holding the running executable (to find sibling binaries).
std::string self_dir();

} // namespace ferry::process
