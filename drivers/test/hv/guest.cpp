#include "drivers/test/hv/guest.hpp"

#include <chrono>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include "util/crypto.hpp"

namespace ferry::testhv {

namespace {

/// Workload tick: how often the workload wakes to write its share of pages.
constexpr auto tick = std::chrono::milliseconds{5};

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t seed_of(const std::string& uuid) {
  auto h = crypto::sha256(uuid.data(), uuid.size());
  uint64_t seed = 0;
  std::memcpy(&seed, h.data(), sizeof(seed));
  return seed;
}

} // namespace

guest::guest(domain_definition def, bool fill)
  : def_(std::move(def)),
    pages_(def_.memory_bytes / guest_page_size),
    dirty_((pages_ + 63) / 64),
    dirty_rate_mibps_(def_.dirty_rate_mibps) {
  auto bytes = pages_ * guest_page_size;
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED)
    throw std::bad_alloc();
  ram_ = static_cast<char*>(mem);
  for (auto& word : dirty_)
    word.store(0, std::memory_order_relaxed);
  if (fill)
    fill_from_uuid();
  workload_ = std::thread{[this] { workload_loop(); }};
}

guest::~guest() {
  {
    std::lock_guard<std::mutex> guard{ctl_mutex_};
    stop_ = true;
  }
  ctl_cv_.notify_all();
  workload_.join();
  ::munmap(ram_, pages_ * guest_page_size);
}

void guest::fill_from_uuid() {
  auto seed = seed_of(def_.uuid);
  auto words = reinterpret_cast<uint64_t*>(ram_);
  auto count = pages_ * guest_page_size / sizeof(uint64_t);
  for (uint64_t i = 0; i < count; ++i) {
    // Re-seed per page so any page can be regenerated independently.
    if (i % (guest_page_size / sizeof(uint64_t)) == 0)
      seed ^= i * 0xd1b54a32d192ed03ULL;
    words[i] = splitmix64(seed);
  }
}

void guest::resume() {
  {
    std::lock_guard<std::mutex> guard{ctl_mutex_};
    running_ = true;
  }
  ctl_cv_.notify_all();
}

void guest::pause() {
  std::unique_lock<std::mutex> guard{ctl_mutex_};
  running_ = false;
  ctl_cv_.wait(guard, [this] { return !workload_busy_; });
}

void guest::set_dirty_rate(double mibps) {
  std::lock_guard<std::mutex> guard{ctl_mutex_};
  dirty_rate_mibps_ = mibps;
}

double guest::dirty_rate() const {
  std::lock_guard<std::mutex> guard{ctl_mutex_};
  return dirty_rate_mibps_;
}

void guest::set_throttle(unsigned percent) {
  throttle_ = percent > 99 ? 99 : percent;
}

std::string guest::digest() {
  std::lock_guard<std::mutex> guard{ram_mutex_};
  return crypto::sha256(ram_, pages_ * guest_page_size);
}

void guest::mark_all_dirty() {
  for (uint64_t i = 0; i < dirty_.size(); ++i) {
    auto bits = i + 1 < dirty_.size() || pages_ % 64 == 0
                  ? ~uint64_t{0}
                  : (uint64_t{1} << (pages_ % 64)) - 1;
    dirty_[i].store(bits, std::memory_order_relaxed);
  }
}

uint64_t guest::dirty_count() const {
  uint64_t n = 0;
  for (auto& word : dirty_)
    n += static_cast<uint64_t>(
      __builtin_popcountll(word.load(std::memory_order_relaxed)));
  return n;
}

size_t guest::take_dirty(uint64_t* cursor, uint64_t* out, size_t max) {
  size_t n = 0;
  while (n < max && *cursor < pages_) {
    auto idx = *cursor / 64;
    auto bit = *cursor % 64;
    auto mask = ~uint64_t{0} << bit;
    auto word = dirty_[idx].load(std::memory_order_relaxed) & mask;
    if (word == 0) {
      *cursor = (idx + 1) * 64;
      continue;
    }
    auto pos = static_cast<uint64_t>(__builtin_ctzll(word));
    dirty_[idx].fetch_and(~(uint64_t{1} << pos), std::memory_order_relaxed);
    out[n++] = idx * 64 + pos;
    *cursor = idx * 64 + pos + 1;
  }
  return n;
}

void guest::read_page(uint64_t pfn, char* dst) const {
  std::memcpy(dst, ram_ + pfn * guest_page_size, guest_page_size);
}

void guest::write_page(uint64_t pfn, const char* src) {
  std::memcpy(ram_ + pfn * guest_page_size, src, guest_page_size);
}

void guest::set_dirty(uint64_t pfn) {
  dirty_[pfn / 64].fetch_or(uint64_t{1} << (pfn % 64),
                            std::memory_order_relaxed);
}

void guest::workload_loop() {
  uint64_t rng = seed_of(def_.uuid) ^ 0x5bd1e995;
  double carry = 0; // fractional pages owed from earlier ticks
  auto ws_pages = def_.working_set_pages();
  auto next = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> guard{ctl_mutex_};
  for (;;) {
    ctl_cv_.wait(guard, [this] { return stop_ || running_; });
    if (stop_)
      return;
    next += tick;
    auto now = std::chrono::steady_clock::now();
    if (next < now - 10 * tick)
      next = now; // do not try to catch up after a long pause
    ctl_cv_.wait_until(guard, next, [this] { return stop_.load(); });
    if (stop_)
      return;
    if (!running_ || ws_pages == 0)
      continue;
    auto rate = dirty_rate_mibps_ * (100.0 - throttle_.load()) / 100.0;
    carry += rate * 1024 * 1024 / guest_page_size
             * std::chrono::duration<double>(tick).count();
    auto count = static_cast<uint64_t>(carry);
    carry -= static_cast<double>(count);
    if (count == 0)
      continue;
    workload_busy_ = true;
    guard.unlock();
    {
      std::lock_guard<std::mutex> ram_guard{ram_mutex_};
      for (uint64_t i = 0; i < count; ++i) {
        auto pfn = splitmix64(rng) % ws_pages;
        auto word = reinterpret_cast<uint64_t*>(ram_ + pfn * guest_page_size);
        auto slot = splitmix64(rng) % (guest_page_size / sizeof(uint64_t));
        word[slot] += 1 + (rng & 0xff);
        set_dirty(pfn);
      }
    }
    pages_written_ += count;
    guard.lock();
    workload_busy_ = false;
    ctl_cv_.notify_all();
  }
}

} // namespace ferry::testhv
