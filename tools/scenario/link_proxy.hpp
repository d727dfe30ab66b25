#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "transport/uri.hpp"

namespace ferry::scenario {

/// A TCP relay that stands for the network link from one node to another,
/// so a scenario can break it: `cut` makes it silent (like a pulled cable:
/// nothing is forwarded, nothing is closed, peers notice only through
/// their heartbeats), `restore` resumes forwarding what TCP buffered, and
/// `delay` holds every byte for a while before passing it on.
class link_proxy {
public:
  /// Listens on 127.0.0.1 (any free port) and relays to `target`.
  explicit link_proxy(host_port target);
  ~link_proxy();

  link_proxy(const link_proxy&) = delete;
  link_proxy& operator=(const link_proxy&) = delete;

  uint16_t port() const {
    return port_;
  }
  void cut();
  void restore();
  void set_delay(std::chrono::milliseconds delay);
  bool is_cut() const {
    return cut_;
  }

private:
  void loop();

  host_port target_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> cut_{false};
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace ferry::scenario
