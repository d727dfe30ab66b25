#include "drivers/test/hv/stream_receiver.hpp"

#include <cstring>
#include <mutex>
#include <vector>

#include "drivers/test/hv/stream_format.hpp"

namespace ferry::testhv {

namespace {

/// One stream being read: where from, into which guest, whom to tell, the
/// batch buffers (allocated once per stream) and the result so far. A step
/// that fails fills in the result's error and returns false.
class stream_reader {
public:
  stream_reader(channel& in, guest& g, const receive_hooks& hooks)
    : in_(in), g_(g), hooks_(hooks) {
  }

  receive_result& result() {
    return out_;
  }

  /// Checks magic and geometry: pages of another RAM size or page size
  /// must not land in this guest.
  bool header() {
    char head[stream::header_size];
    if (!in_.read_exact(head, sizeof(head)))
      return fail(in_.error());
    if (std::memcmp(head, stream::magic, 8) != 0)
      return fail("not a ferry test-hypervisor migration stream");
    if (stream::get_u64(head + 8) != g_.ram_bytes()
        || stream::get_u32(head + 16) != guest_page_size)
      return fail("stream geometry does not match the incoming domain");
    received(sizeof(head));
    return true;
  }

  /// Reads one record; false at the end: the complete record or an error.
  bool next_record() {
    char kind = 0;
    if (!in_.read_exact(&kind, 1))
      return fail(in_.error());
    if (kind == stream::rec_pages)
      return pages();
    if (kind == stream::rec_iteration)
      return iteration();
    if (kind == stream::rec_complete)
      return complete();
    return fail(
      "corrupt migration stream: unknown record type "
      + std::to_string(static_cast<int>(static_cast<unsigned char>(kind))));
  }

private:
  /// Fails the stream with `why`; always false.
  bool fail(std::string why) {
    out_.error = std::move(why);
    return false;
  }

  /// A batch of pages, written into the guest under its RAM lock; a batch
  /// size or page number out of range is a corrupt stream.
  bool pages() {
    char cnt[4];
    if (!in_.read_exact(cnt, 4))
      return fail(in_.error());
    auto n = stream::get_u32(cnt);
    if (n == 0 || n > stream::max_batch)
      return fail("corrupt migration stream: batch of " + std::to_string(n));
    if (!in_.read_exact(pfn_bytes_.data(), n * 8)
        || !in_.read_exact(pages_.data(), n * guest_page_size))
      return fail(in_.error());
    std::lock_guard<std::mutex> guard{g_.ram_mutex()};
    for (uint32_t i = 0; i < n; ++i) {
      auto pfn = stream::get_u64(pfn_bytes_.data() + i * 8);
      if (pfn >= g_.pages())
        return fail("corrupt migration stream: page " + std::to_string(pfn)
                    + " beyond RAM");
      g_.write_page(pfn, pages_.data() + i * guest_page_size);
    }
    received(5 + n * (8 + guest_page_size));
    return true;
  }

  /// The end of a pre-copy pass, passed on to the iteration hook.
  bool iteration() {
    char it[4];
    if (!in_.read_exact(it, 4))
      return fail(in_.error());
    if (hooks_.iteration)
      hooks_.iteration(stream::get_u32(it));
    received(5);
    return true;
  }

  /// The complete record: whether the guest ran at the source, and the
  /// source's digest of the final RAM. False: nothing follows it.
  bool complete() {
    char rest[1 + 32];
    if (!in_.read_exact(rest, sizeof(rest)))
      return fail(in_.error());
    received(1 + sizeof(rest));
    out_.ok = true;
    out_.was_running = rest[0] != 0;
    out_.digest.assign(rest + 1, 32);
    return false;
  }

  void received(size_t n) {
    if (hooks_.received)
      hooks_.received(n);
  }

  channel& in_;
  guest& g_;
  const receive_hooks& hooks_;
  receive_result out_;
  std::vector<char> pages_ =
    std::vector<char>(stream::max_batch * guest_page_size);
  std::vector<char> pfn_bytes_ = std::vector<char>(stream::max_batch * 8);
};

} // namespace

receive_result receive_stream(channel& in, guest& g,
                              const receive_hooks& hooks) {
  stream_reader r{in, g, hooks};
  bool more = r.header();
  while (more)
    more = r.next_record();
  return r.result();
}

} // namespace ferry::testhv
