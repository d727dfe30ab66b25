#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "drivers/domain_definition.hpp"

namespace ferry::testhv {

/// A test-hypervisor guest: real RAM (anonymous mmap, one byte per byte of
/// guest memory), a dirty bitmap per 4 KiB page, and a workload thread that
/// writes pages at the configured rate while the guest runs.
///
/// Thread safety: every method may be called from any thread. RAM contents
/// are guarded by `ram_mutex()`: the workload takes it per tick, readers
/// (migration, digest) per batch of pages.
class guest {
public:
  /// Creates a guest with RAM sized from `def`. With `fill`, RAM is filled
  /// deterministically from the UUID (so two hypervisors that start the same
  /// definition hold identical RAM); otherwise it is zero (an incoming guest).
  /// The guest starts paused.
  guest(domain_definition def, bool fill);
  ~guest();

  guest(const guest&) = delete;
  guest& operator=(const guest&) = delete;

  const domain_definition& definition() const {
    return def_;
  }
  const std::string& name() const {
    return def_.name;
  }
  uint64_t pages() const {
    return pages_;
  }
  uint64_t ram_bytes() const {
    return pages_ * guest_page_size;
  }

  /// Starts or resumes the workload.
  void resume();
  /// Stops the workload; returns once no workload write is in progress.
  void pause();
  bool running() const {
    return running_.load();
  }

  /// Changes the workload's rate (MiB/s), e.g. for a live throttle.
  void set_dirty_rate(double mibps);
  double dirty_rate() const;
  /// Throttle in percent (auto-converge): the workload runs at
  /// `(100 - throttle)`% of its rate.
  void set_throttle(unsigned percent);
  unsigned throttle() const {
    return throttle_.load();
  }

  /// SHA-256 of RAM (32 raw bytes). Holds the RAM lock while hashing, so on
  /// a running guest it is a consistent snapshot.
  std::string digest();

  /// Marks every page dirty (start of a migration's first pass).
  void mark_all_dirty();
  /// Number of dirty pages.
  uint64_t dirty_count() const;
  /// Collects up to `max` dirty page numbers at or after `*cursor`, clearing
  /// their bits, and advances `*cursor`. Returns the count collected.
  size_t take_dirty(uint64_t* cursor, uint64_t* out, size_t max);
  /// Pages dirtied by the workload since creation (statistics).
  uint64_t pages_written() const {
    return pages_written_.load();
  }

  /// Copies page `pfn` into `dst` (4 KiB). Caller holds `ram_mutex()`.
  void read_page(uint64_t pfn, char* dst) const;
  /// Writes page `pfn` from `src` (incoming migration). Caller holds the lock.
  void write_page(uint64_t pfn, const char* src);
  std::mutex& ram_mutex() {
    return ram_mutex_;
  }

private:
  void fill_from_uuid();
  void workload_loop();
  void set_dirty(uint64_t pfn);

  domain_definition def_;
  uint64_t pages_;
  char* ram_ = nullptr;
  std::vector<std::atomic<uint64_t>> dirty_;
  std::mutex ram_mutex_;

  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> throttle_{0};
  std::atomic<uint64_t> pages_written_{0};
  mutable std::mutex ctl_mutex_;
  std::condition_variable ctl_cv_;
  double dirty_rate_mibps_;
  bool workload_busy_ = false;
  std::thread workload_;
};

using guest_ptr = std::shared_ptr<guest>;

} // namespace ferry::testhv
