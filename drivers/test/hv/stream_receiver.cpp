#include "drivers/test/hv/stream_receiver.hpp"

#include <cstring>
#include <mutex>
#include <vector>

#include "drivers/test/hv/stream_format.hpp"

namespace ferry::testhv {

receive_result receive_stream(channel& in, guest& g,
                              const receive_hooks& hooks) {
  receive_result out;
  auto fail = [&out](std::string why) {
    out.error = std::move(why);
    return out;
  };
  auto received = [&hooks](size_t n) {
    if (hooks.received)
      hooks.received(n);
  };
  char header[stream::header_size];
  if (!in.read_exact(header, sizeof(header)))
    return fail(in.error());
  if (std::memcmp(header, stream::magic, 8) != 0)
    return fail("not a ferry test-hypervisor migration stream");
  if (stream::get_u64(header + 8) != g.ram_bytes()
      || stream::get_u32(header + 16) != guest_page_size)
    return fail("stream geometry does not match the incoming domain");
  std::vector<char> pages(stream::max_batch * guest_page_size);
  std::vector<char> pfn_bytes(stream::max_batch * 8);
  received(sizeof(header));
  for (;;) {
    char kind = 0;
    if (!in.read_exact(&kind, 1))
      return fail(in.error());
    if (kind == stream::rec_pages) {
      char cnt[4];
      if (!in.read_exact(cnt, 4))
        return fail(in.error());
      auto n = stream::get_u32(cnt);
      if (n == 0 || n > stream::max_batch)
        return fail("corrupt migration stream: batch of " + std::to_string(n));
      if (!in.read_exact(pfn_bytes.data(), n * 8)
          || !in.read_exact(pages.data(), n * guest_page_size))
        return fail(in.error());
      std::lock_guard<std::mutex> guard{g.ram_mutex()};
      for (uint32_t i = 0; i < n; ++i) {
        auto pfn = stream::get_u64(pfn_bytes.data() + i * 8);
        if (pfn >= g.pages())
          return fail("corrupt migration stream: page " + std::to_string(pfn)
                      + " beyond RAM");
        g.write_page(pfn, pages.data() + i * guest_page_size);
      }
      received(5 + n * (8 + guest_page_size));
    } else if (kind == stream::rec_iteration) {
      char it[4];
      if (!in.read_exact(it, 4))
        return fail(in.error());
      if (hooks.iteration)
        hooks.iteration(stream::get_u32(it));
      received(5);
    } else if (kind == stream::rec_complete) {
      char rest[1 + 32];
      if (!in.read_exact(rest, sizeof(rest)))
        return fail(in.error());
      received(1 + sizeof(rest));
      out.ok = true;
      out.was_running = rest[0] != 0;
      out.digest.assign(rest + 1, 32);
      return out;
    } else {
      return fail(
        "corrupt migration stream: unknown record type "
        + std::to_string(static_cast<int>(static_cast<unsigned char>(kind))));
    }
  }
}

} // namespace ferry::testhv
