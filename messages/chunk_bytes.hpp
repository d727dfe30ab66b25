#pragma once

#include <cstddef>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

namespace ferry {

/// Recycles the storage of full-size pump chunks (512 KiB) within a process.
///
/// ferryd sets `M_MMAP_THRESHOLD` to 128 KiB, so every fresh chunk buffer
/// was an mmap, 128 page faults on first touch and an munmap: more work
/// than the copy the buffer was for. The pool keeps at most `max_free`
/// released slabs (8 MiB) and drops them all when the last pump of the
/// process ends (`retain` / `release`), so an idle agent keeps nothing and
/// a busy one never more than the pumps' credit windows hold in flight plus
/// `max_free`: memory does not grow with the size of a VM. Thread-safe: the
/// reader threads take slabs, the BASP workers take them while
/// deserializing, and messages release them on whatever thread drops them.
class chunk_pool {
public:
  static constexpr size_t slab_bytes = size_t{512} * 1024;
  /// Below this a chunk (QEMU's return path, a final partial chunk) is a
  /// plain small allocation: a slab for a few bytes would waste the pool.
  static constexpr size_t min_pooled = size_t{64} * 1024;
  static constexpr size_t max_free = 16;

  /// The process's pool (never destroyed: messages may drop chunks late).
  static chunk_pool& instance() {
    static auto* pool = new chunk_pool;
    return *pool;
  }

  /// A slab of `slab_bytes`, uninitialised.
  char* take() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (!free_.empty()) {
        auto* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return new char[slab_bytes];
  }

  /// Returns a slab from `take`.
  void give(char* p) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (users_ > 0 && free_.size() < max_free) {
        free_.push_back(p);
        return;
      }
    }
    delete[] p;
  }

  /// A pump starts: released slabs are kept from now on.
  void retain() {
    std::lock_guard<std::mutex> guard{mtx_};
    ++users_;
  }

  /// A pump ends; the last one frees the kept slabs.
  void release() {
    std::vector<char*> dropped;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (users_ > 0 && --users_ == 0)
        dropped.swap(free_);
    }
    for (auto* p : dropped)
      delete[] p;
  }

  /// Slabs kept for reuse right now (tests).
  size_t free_slabs() {
    std::lock_guard<std::mutex> guard{mtx_};
    return free_.size();
  }

private:
  chunk_pool() = default;
  std::mutex mtx_;
  std::vector<char*> free_;
  size_t users_ = 0;
};

/// The bytes of one `pump_chunk`: a byte block that is never zero-filled
/// (the reader receives into it, the deserializer copies into it) and whose
/// storage comes from `chunk_pool` when it has the size of a full chunk.
/// Copying copies the bytes (CAF copies a message only when it is shared).
class chunk_bytes {
public:
  chunk_bytes() noexcept = default;

  /// `n` bytes, uninitialised.
  explicit chunk_bytes(size_t n) {
    allocate(n);
    size_ = n;
  }

  chunk_bytes(const char* data, size_t n) : chunk_bytes(n) {
    if (n > 0)
      std::memcpy(ptr_, data, n);
  }

  chunk_bytes(const std::vector<char>& xs) // NOLINT: implicit on purpose
    : chunk_bytes(xs.data(), xs.size()) {
  }

  chunk_bytes(const chunk_bytes& other)
    : chunk_bytes(other.data(), other.size()) {
  }

  chunk_bytes(chunk_bytes&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      cap_(std::exchange(other.cap_, 0)) {
  }

  chunk_bytes& operator=(const chunk_bytes& other) {
    if (this != &other) {
      chunk_bytes tmp{other};
      swap(tmp);
    }
    return *this;
  }

  chunk_bytes& operator=(chunk_bytes&& other) noexcept {
    chunk_bytes tmp{std::move(other)};
    swap(tmp);
    return *this;
  }

  ~chunk_bytes() {
    deallocate();
  }

  void swap(chunk_bytes& other) noexcept {
    std::swap(ptr_, other.ptr_);
    std::swap(size_, other.size_);
    std::swap(cap_, other.cap_);
  }

  char* data() noexcept {
    return ptr_;
  }

  const char* data() const noexcept {
    return ptr_;
  }

  size_t size() const noexcept {
    return size_;
  }

  size_t capacity() const noexcept {
    return cap_;
  }

  bool empty() const noexcept {
    return size_ == 0;
  }

  /// Sets the size to `n` bytes; new bytes are uninitialised, and storage
  /// is only reallocated (keeping the old bytes) when `n` exceeds capacity.
  void resize(size_t n) {
    if (n > cap_) {
      chunk_bytes bigger(n);
      if (size_ > 0)
        std::memcpy(bigger.ptr_, ptr_, size_);
      swap(bigger);
    }
    size_ = n;
  }

  friend bool operator==(const chunk_bytes& x, const chunk_bytes& y) {
    return x.size_ == y.size_
           && (x.size_ == 0 || std::memcmp(x.ptr_, y.ptr_, x.size_) == 0);
  }

  friend bool operator!=(const chunk_bytes& x, const chunk_bytes& y) {
    return !(x == y);
  }

private:
  void allocate(size_t n) {
    if (n == 0)
      return;
    if (n >= chunk_pool::min_pooled && n <= chunk_pool::slab_bytes) {
      ptr_ = chunk_pool::instance().take();
      cap_ = chunk_pool::slab_bytes;
    } else {
      ptr_ = new char[n];
      cap_ = n;
    }
  }

  void deallocate() noexcept {
    if (ptr_ == nullptr)
      return;
    if (cap_ == chunk_pool::slab_bytes)
      chunk_pool::instance().give(ptr_);
    else
      delete[] ptr_;
    ptr_ = nullptr;
  }

  char* ptr_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

} // namespace ferry
