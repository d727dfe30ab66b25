#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace ferry::harness {

/// Holds packets in the kernel for a while before letting them go: the
/// delay fault between two nodes in network namespaces.
///
/// An iptables rule in the receiving node's namespace sends the packets to
/// delay to an NFQUEUE; this class listens on that queue (a netlink socket opened in
/// the namespace), learns each packet's id (metadata only, the payload
/// stays in the kernel) and accepts it `delay` later. Every data path
/// between the two nodes is covered, not only connections through a proxy.
/// (tc netem would do the same in the kernel, but minimal kernels, this
/// project's development VMs among them, are built without sch_netem.)
class delay_line {
public:
  delay_line();
  ~delay_line();

  delay_line(const delay_line&) = delete;
  delay_line& operator=(const delay_line&) = delete;

  /// Packets that namespace `ns` queues to `queue` from now on wait
  /// `delay`. Opens the queue the first time. Returns "" or the reason.
  std::string set(const std::string& ns, uint16_t queue,
                  std::chrono::milliseconds delay);

private:
  using clock_type = std::chrono::steady_clock;

  /// One bound queue: its socket and the packets it holds, oldest first.
  struct queue_state {
    int fd = -1;
    uint16_t queue = 0;
    int64_t delay_ms = 0;
    clock_type::time_point last_due;
    std::deque<std::pair<uint32_t, clock_type::time_point>> held;
  };

  void loop();
  void receive(queue_state& q, clock_type::time_point now);
  void release(queue_state& q, clock_type::time_point now);

  std::mutex mtx_;
  std::map<std::pair<std::string, uint16_t>, queue_state> queues_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace ferry::harness
