#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::qmp {

/// A stream socket carrying one JSON document per line, as QMP does, with
/// descriptors passed as SCM_RIGHTS ancillary data (QMP's `getfd`). Reads
/// are for one thread; writes may come from any thread.
class line_socket {
public:
  /// Takes ownership of a connected AF_UNIX stream socket.
  explicit line_socket(int fd);
  ~line_socket();

  line_socket(const line_socket&) = delete;
  line_socket& operator=(const line_socket&) = delete;

  /// Reads one line (without the newline). Descriptors that arrived with
  /// it are appended to `fds` (the caller owns them). Returns false on EOF,
  /// error, a line over `max_line` bytes, or when `timeout_ms` (>= 0) passes.
  bool read_line(std::string& out, std::vector<int>& fds, int timeout_ms = -1);

  /// Writes `line` plus a newline; with `fd >= 0` the descriptor travels in
  /// the same sendmsg as the first byte (QEMU requires that).
  bool write_line(const std::string& line, int fd = -1);

  /// Unblocks a reader; later calls fail.
  void shutdown();

  int fd() const {
    return fd_;
  }

  static constexpr size_t max_line = 1024 * 1024;

private:
  bool fill(int timeout_ms);

  int fd_;
  std::string buf_;
  std::deque<int> pending_fds_;
  std::mutex write_mtx_;
};

/// Connects to a unix socket at `path`; -1 on failure (errno set).
int connect_unix(const std::string& path);

/// Creates a listening unix socket at `path` (replacing a stale one).
int listen_unix(const std::string& path);

} // namespace ferry::qmp
