// libFuzzer target: the receiving side of the test hypervisor's migration
// stream (drivers/test/hv/stream_receiver.hpp) fed arbitrary bytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "drivers/test/hv/stream_receiver.hpp"

using namespace ferry;
using namespace ferry::testhv;

namespace {

/// A channel that reads from a buffer and swallows writes.
class memory_channel : public channel {
public:
  memory_channel(const uint8_t* data, size_t size) : data_(data), size_(size) {
  }
  bool write_all(const void*, size_t) override {
    return true;
  }
  bool read_exact(void* out, size_t len) override {
    if (len > size_ - pos_) {
      pos_ = size_;
      return false;
    }
    std::memcpy(out, data_ + pos_, len);
    pos_ += len;
    return true;
  }
  void abort() override {
  }
  void finish() override {
  }
  std::string error() const override {
    return "end of input";
  }
  bool secure() const override {
    return false;
  }

private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

/// The incoming guest: 16 pages (the seed corpus matches), created once.
guest& incoming_guest() {
  static auto* g = [] {
    domain_definition def;
    def.type = "test";
    def.name = "fuzz";
    def.uuid = "6a0e4d3c-9f51-4c2b-8a77-2f5d0c1e9b40";
    def.memory_bytes = 16 * guest_page_size;
    return new guest{def, false};
  }();
  return *g;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& g = incoming_guest();
  memory_channel in{data, size};
  size_t total = 0;
  receive_hooks hooks;
  hooks.received = [&total](size_t n) { total += n; };
  auto res = receive_stream(in, g, hooks);
  if (total > size)
    std::abort(); // counted more than it read
  if (res.ok && res.digest.size() != 32)
    std::abort();
  if (!res.ok && res.error.empty())
    std::abort();
  return 0;
}
