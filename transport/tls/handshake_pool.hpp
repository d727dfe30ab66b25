#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <memory>
#include <mutex>
#include <thread>

#include <poll.h>
#include <vector>

#include <caf/error.hpp>

#include "transport/tls/tls_handshake.hpp"

namespace ferry {

/// Runs the server side of TLS handshakes away from CAF's multiplexer
/// thread, so a client that connects and sends nothing (or half a record)
/// costs a socket and a slot, never CPU.
///
/// A few threads each wait with poll() on their share of the pending
/// handshakes. A handshake that finishes is handed to its `admit` callback
/// (on the pool's thread); one that fails or outlives the timeout is closed
/// with one warning line. At most `max_pending` handshakes wait at once,
/// and `max_pending_per_address` from one address; a newcomer beyond either
/// limit takes the place of the oldest waiting handshake (of its own
/// address first), which is closed. Silent or stalling connections thus
/// cost a client that completes its handshake at most a retry, however
/// many of them there are and wherever they come from.
class handshake_pool {
public:
  /// Called on a pool thread with a finished handshake.
  using admit_fn = std::function<void(std::unique_ptr<tls_handshake>)>;

  /// Sizes and the timeout.
  struct limits {
    size_t threads = 2;
    size_t max_pending = 64;
    size_t max_pending_per_address = 16;
    std::chrono::milliseconds timeout{5000};
  };

  explicit handshake_pool(limits lim);

  /// Stops (see `stop`).
  ~handshake_pool();

  handshake_pool(const handshake_pool&) = delete;
  handshake_pool& operator=(const handshake_pool&) = delete;

  /// Starts the threads. Errors if a wake-up descriptor cannot be made.
  caf::error start();

  /// Takes a freshly accepted connection, making room if needed. Returns
  /// false, after closing it, when the pool is stopped.
  bool submit(std::unique_ptr<tls_handshake> hs, admit_fn admit);

  /// Closes every pending handshake and joins the threads. No callback
  /// runs after it returns. Idempotent.
  void stop();

  /// Handshakes currently waiting.
  size_t pending() const {
    return pending_.load();
  }

  const limits& config() const {
    return limits_;
  }

private:
  struct job {
    uint64_t id = 0;
    std::unique_ptr<tls_handshake> hs;
    admit_fn admit;
    std::chrono::steady_clock::time_point deadline;
    /// Set (by `submit`, under the pool's lock) when a newcomer took its
    /// place: the worker closes it and counts nothing.
    std::shared_ptr<std::atomic<bool>> evicted;
  };

  struct worker;

  /// What the pool knows of a pending handshake, for making room.
  struct entry {
    std::string address;
    std::chrono::steady_clock::time_point started;
    std::shared_ptr<std::atomic<bool>> evicted;
    worker* owner = nullptr;
  };

  struct worker {
    std::thread thread;
    int wake_fd = -1;
    std::mutex mtx;
    std::vector<job> inbox; ///< Guarded by mtx.
    size_t load = 0;        ///< Jobs assigned and not finished; guarded by
                            ///< the pool's mtx_.
  };

  void run(worker& w);
  /// Moves the worker's new jobs into `jobs`, dropping evicted ones.
  void take_inbox(worker& w, std::vector<job>& jobs);
  /// Waits for the wake-up descriptor or a job's socket, until the nearest
  /// deadline; false if poll failed.
  bool wait(worker& w, std::vector<job>& jobs, std::vector<::pollfd>& fds);
  /// Steps job `j` once; true if it is still in progress.
  bool advance(worker& w, job& j, bool ready,
               std::chrono::steady_clock::time_point now);
  void finished(worker& w, uint64_t id);
  void make_room(const std::string& address);
  bool evict_oldest(const std::string* address);
  static void wake(const worker& w);

  limits limits_;
  std::mutex mtx_; ///< Guards `stopping_` against `submit` and the loads.
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::atomic<size_t> pending_{0};
  uint64_t next_id_ = 1;               ///< Guarded by mtx_.
  std::map<uint64_t, entry> entries_;  ///< Guarded by mtx_.
  std::vector<std::unique_ptr<worker>> workers_;
  std::chrono::steady_clock::time_point last_drop_warning_{};
  size_t drops_since_warning_ = 0;
};

} // namespace ferry
