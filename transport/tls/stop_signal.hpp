#pragma once

#include <atomic>

namespace ferry {

/// A one-shot "we are shutting down" flag that poll() can wait on: an
/// eventfd that becomes readable once `fire()` was called. Lets a thread
/// blocked in a TLS handshake notice shutdown at once.
class stop_signal {
public:
  stop_signal();
  ~stop_signal();

  stop_signal(const stop_signal&) = delete;
  stop_signal& operator=(const stop_signal&) = delete;

  /// Makes `fd()` readable for good. Idempotent and thread-safe.
  void fire();

  bool fired() const {
    return fired_.load();
  }

  /// The descriptor to poll for POLLIN; -1 if it could not be created.
  int fd() const {
    return fd_;
  }

private:
  int fd_;
  std::atomic<bool> fired_{false};
};

} // namespace ferry
