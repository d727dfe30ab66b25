#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

namespace ferry::testhv {

/// A blocking, bidirectional byte stream that a migration runs over: a TCP
/// connection, one end of a socketpair handed over by the agent (tunnelled),
/// or either of those wrapped in TLS. Every wait is bounded by `timeout_ms`;
/// `abort()` from another thread makes pending and future calls fail.
class channel {
public:
  virtual ~channel() = default;

  /// Writes all `len` bytes; false on error or abort (see `error()`).
  virtual bool write_all(const void* data, size_t len) = 0;
  /// Reads exactly `len` bytes; false on EOF, error, timeout or abort.
  virtual bool read_exact(void* data, size_t len) = 0;
  /// Unblocks all waiters; the channel is unusable afterwards.
  virtual void abort() = 0;
  /// Ends our sending side after a completed migration (the peer reads EOF,
  /// so relays such as stream pumps finish too).
  virtual void finish() = 0;
  /// Why the last call failed.
  virtual std::string error() const = 0;
  /// Whether bytes are encrypted and the peer authenticated.
  virtual bool secure() const = 0;
};

using channel_ptr = std::unique_ptr<channel>;

/// A channel over a connected socket descriptor (owned; closed on destruction).
class fd_channel : public channel {
public:
  fd_channel(int fd, int timeout_ms);
  ~fd_channel() override;

  bool write_all(const void* data, size_t len) override;
  bool read_exact(void* data, size_t len) override;
  void abort() override;
  void finish() override;
  std::string error() const override {
    return error_;
  }
  bool secure() const override {
    return false;
  }
  int fd() const {
    return fd_;
  }
  /// Changes the bound on each wait (e.g. short for a handshake, long for
  /// the transfer that follows).
  void set_timeout_ms(int ms) {
    timeout_ms_ = ms;
  }

protected:
  /// Waits until `events` (POLLIN/POLLOUT) or the timeout, in slices so
  /// an abort is noticed; false with `error_` set.
  bool wait(short events);

  int fd_;
  int timeout_ms_;
  std::atomic<bool> aborted_{false};
  std::string error_;
};

} // namespace ferry::testhv
