#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "drivers/test/hv/channel.hpp"
#include "drivers/test/hv/guest.hpp"
#include "drivers/test/hv/migration_stats.hpp"

namespace ferry::testhv {

/// Called from the migration thread whenever the status changes.
using status_callback = std::function<void(mig_status)>;

/// Base of both directions: a worker thread, a status and statistics that
/// other threads read, and cancellation.
class migration {
public:
  virtual ~migration();

  mig_stats stats() const;
  mig_status status() const {
    return stats().status;
  }
  /// Aborts the transfer; the thread ends with `cancelled`.
  void cancel();
  /// True once the thread has ended (completed, failed or cancelled).
  bool finished() const;
  /// Waits for the thread to end.
  void join();

protected:
  migration(guest_ptr g, status_callback cb);
  void launch(std::function<void()> body);
  void set_status(mig_status s, std::string error = {});
  template <class F>
  void update(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    f(stats_);
  }

  guest_ptr guest_;
  channel_ptr channel_;
  std::atomic<bool> cancelled_{false};

private:
  status_callback callback_;
  mutable std::mutex mtx_;
  mig_stats stats_;
  std::thread thread_;
};

/// The sending side: pre-copy passes over dirty pages, stop-and-copy,
/// digest, and the receiver's verdict.
class outgoing_migration : public migration {
public:
  outgoing_migration(guest_ptr g, mig_params params, status_callback cb);
  ~outgoing_migration() override;

  /// Starts the thread over a connected, already authenticated channel.
  /// With `send_go`, the sender answers the receiver's verdict with `G`
  /// (direct migration: the receiver resumes only after it, so a lost
  /// verdict never leaves two running copies).
  void start(channel_ptr ch, bool send_go = false);

  /// Changes bandwidth or downtime limit while running.
  void set_params(const mig_params& p);
  mig_params current_params() const {
    return params();
  }

private:
  struct precopy_state;

  void run(bool send_go);
  /// Ends the migration as failed, with the total time so far, and aborts
  /// the channel. Always false, so that a step can `return fail(...)`.
  bool fail(const std::string& why);
  /// The stream header: magic, RAM size and page size, which the receiver
  /// checks against its guest before it takes a page.
  bool send_header();
  /// Pauses the guest and notes when (what the downtime is measured from).
  void pause_guest();
  /// Pauses a not-live migration's guest, marks all of RAM dirty and
  /// reports `active`.
  void begin_precopy();
  /// Pre-copy passes until the rest fits the downtime limit or the guest
  /// no longer runs; false once the migration failed.
  bool precopy();
  /// Reports the pass about to start; returns the downtime expected if the
  /// rest were sent now (UINT64_MAX before a pass measured a bandwidth).
  uint64_t report_iteration(uint64_t iteration, uint64_t remaining,
                            double bandwidth);
  /// The progress timeout: after a stall, throttles the guest harder with
  /// auto-converge, or fails when there is nothing left to try.
  bool check_progress(precopy_state& st, uint64_t remaining,
                      uint64_t iteration, const mig_params& p);
  /// Auto-converge's next step: 30%, then 20 points more per stall.
  void throttle_harder();
  /// One pre-copy pass and its iteration record; the pass's bandwidth
  /// (bytes/s) goes to `*bandwidth` for the next downtime estimate.
  bool send_iteration(uint64_t iteration, double* bandwidth);
  /// Stop-and-copy: pauses the guest, sends what is still dirty, then the
  /// complete record with the final digest.
  bool send_last_pass(bool was_running);
  /// The destination's verdict on the digest and, with `send_go`, our `G`
  /// that lets it resume.
  bool await_verdict(bool send_go);
  bool send_pass(uint64_t* pass_bytes);
  bool write(const void* data, size_t len);
  void throttle_bandwidth(uint64_t bytes_so_far,
                          std::chrono::steady_clock::time_point since);
  mig_params params() const;

  mutable std::mutex params_mtx_;
  mig_params params_;
  std::vector<char> buf_; ///< One batch: bounded by max_batch pages.
  /// When `run` began: the total time counts from here.
  std::chrono::steady_clock::time_point started_;
};

/// The receiving side: writes pages into a paused guest and verifies the
/// final digest before answering `K`.
class incoming_migration : public migration {
public:
  incoming_migration(guest_ptr g, status_callback cb);
  ~incoming_migration() override;

  /// Starts receiving. With `await_go` the receiver expects the sender's
  /// `G` after its verdict and reports failure ("outcome unknown") without.
  void start(channel_ptr ch, bool await_go = false);

private:
  void run(bool await_go);
  bool fail(const std::string& why);
};

} // namespace ferry::testhv
