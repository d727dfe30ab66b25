// Stream pumps in one process with a real (threaded) actor system: the
// pumps run detached with reader threads, so CAF's test coordinator does not
// apply. What the tunnelled mode promises: every byte arrives in order, the
// memory in flight is bounded by the credit window whatever the stream's
// size, and the bandwidth limit slows the sender.

#include "migration/stream_pump.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "messages/types.hpp"

using namespace ferry;
using namespace std::chrono_literals;

namespace {

/// A byte of a deterministic, position-dependent pattern.
char pattern_at(uint64_t i) {
  return static_cast<char>((i * 2654435761u) >> 13);
}

bool write_pattern(int fd, uint64_t total) {
  std::vector<char> buf(64 * 1024);
  for (uint64_t off = 0; off < total;) {
    auto n = std::min<uint64_t>(buf.size(), total - off);
    for (uint64_t i = 0; i < n; ++i)
      buf[i] = pattern_at(off + i);
    for (uint64_t done = 0; done < n;) {
      auto w = ::write(fd, buf.data() + done, n - done);
      if (w <= 0)
        return false;
      done += static_cast<uint64_t>(w);
    }
    off += n;
  }
  return true;
}

/// Reads until EOF; returns the byte count, or -1 at the first byte that
/// differs from the pattern.
int64_t read_and_check(int fd) {
  std::vector<char> buf(64 * 1024);
  uint64_t off = 0;
  for (;;) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0)
      return -1;
    if (n == 0)
      return static_cast<int64_t>(off);
    for (ssize_t i = 0; i < n; ++i)
      if (buf[static_cast<size_t>(i)] != pattern_at(off + static_cast<uint64_t>(i)))
        return -1;
    off += static_cast<uint64_t>(n);
  }
}

int socket_buffer(int fd, int opt) {
  int v = 0;
  socklen_t len = sizeof(v);
  ::getsockopt(fd, SOL_SOCKET, opt, &v, &len);
  return v;
}

/// Two pumps wired like a tunnelled migration: the source hypervisor writes
/// into `src_hv`, the destination hypervisor reads `dst_hv`.
struct pump_pair {
  caf::actor_system& sys;
  int src_hv = -1;
  int dst_hv = -1;
  std::shared_ptr<pump_shared> src_shared = std::make_shared<pump_shared>();
  std::shared_ptr<pump_shared> dst_shared = std::make_shared<pump_shared>();
  caf::actor src;
  caf::actor dst;

  pump_pair(caf::actor_system& s, pump_config cfg) : sys(s) {
    int src_ours = -1;
    int dst_ours = -1;
    EXPECT_TRUE(make_pump_socketpair(src_ours, src_hv));
    EXPECT_TRUE(make_pump_socketpair(dst_ours, dst_hv));
    std::string job = "0123456789abcdef0123456789abcdef";
    dst = sys.spawn<caf::detached>(stream_pump, job, dst_ours, caf::actor{}, caf::node_id{},
                                   cfg, dst_shared);
    src = sys.spawn<caf::detached>(stream_pump, job, src_ours, dst, caf::node_id{}, cfg,
                                   src_shared);
  }

  ~pump_pair() {
    caf::anon_send_exit(src, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(dst, caf::exit_reason::user_shutdown);
    ::close(src_hv);
    ::close(dst_hv);
  }
};

class stream_pump_test : public ::testing::Test {
protected:
  static caf::actor_system_config& config() {
    static caf::actor_system_config cfg = [] {
      caf::actor_system_config c;
      add_message_types(c);
      return c;
    }();
    return cfg;
  }

  void SetUp() override {
    // Closing a hypervisor's end under a blocked pump write raises SIGPIPE,
    // which ferryd ignores; so must this process.
    std::signal(SIGPIPE, SIG_IGN);
  }

  caf::actor_system sys{config()};
};

} // namespace

TEST_F(stream_pump_test, every_byte_arrives_in_order) {
  pump_config cfg;
  pump_pair p{sys, cfg};
  constexpr uint64_t total = 48ull << 20; // many windows' worth
  std::thread writer{[&] {
    EXPECT_TRUE(write_pattern(p.src_hv, total));
    ::shutdown(p.src_hv, SHUT_WR); // the hypervisor's end of stream
  }};
  auto got = read_and_check(p.dst_hv);
  writer.join();
  EXPECT_EQ(got, static_cast<int64_t>(total)) << "-1 means corrupted bytes";
  EXPECT_EQ(p.src_shared->bytes_out.load(), total);
}

TEST_F(stream_pump_test, a_stalled_reader_bounds_what_the_sender_takes) {
  pump_config cfg;
  cfg.chunk_bytes = 256 * 1024;
  cfg.window = 4;
  pump_pair p{sys, cfg};
  // The destination hypervisor reads nothing: once its socket buffers are
  // full, the destination pump's writes block, credit stops coming back,
  // and the source pump must stop reading its descriptor.
  std::atomic<bool> writing{true};
  std::thread writer{[&] {
    write_pattern(p.src_hv, 1ull << 30); // blocks long before 1 GiB
    writing = false;
  }};
  uint64_t last = 0;
  for (int stable = 0, i = 0; stable < 10 && i < 600; ++i) {
    std::this_thread::sleep_for(50ms);
    auto now = p.src_shared->bytes_out.load();
    stable = now == last ? stable + 1 : 0;
    last = now;
  }
  EXPECT_TRUE(writing) << "the pump swallowed the whole stream";
  // In flight at most: the window of chunks, one chunk the reader holds,
  // one the destination pump is writing, and the destination socketpair's
  // buffers (kernel memory, not the agent's).
  uint64_t kernel = static_cast<uint64_t>(socket_buffer(p.dst_hv, SO_RCVBUF))
                    + static_cast<uint64_t>(socket_buffer(p.dst_hv, SO_SNDBUF))
                    * 2;
  uint64_t bound = (static_cast<uint64_t>(cfg.window) + 2) * cfg.chunk_bytes
                   + kernel;
  EXPECT_LE(last, bound) << "window " << cfg.window << " x "
                         << cfg.chunk_bytes << " B";
  EXPECT_GT(last, 0u);
  // Unblock: the destination reads everything that was sent so far.
  ::shutdown(p.src_hv, SHUT_RDWR);
  caf::anon_send_exit(p.src, caf::exit_reason::user_shutdown);
  writer.join();
}

TEST_F(stream_pump_test, the_bandwidth_limit_slows_the_sender) {
  pump_config cfg;
  cfg.bandwidth = 16ull << 20; // 16 MiB/s
  pump_pair p{sys, cfg};
  constexpr uint64_t total = 24ull << 20;
  auto t0 = std::chrono::steady_clock::now();
  std::thread writer{[&] {
    EXPECT_TRUE(write_pattern(p.src_hv, total));
    ::shutdown(p.src_hv, SHUT_WR);
  }};
  auto got = read_and_check(p.dst_hv);
  writer.join();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - t0)
                .count();
  EXPECT_EQ(got, static_cast<int64_t>(total));
  // A lower bound only: a loaded machine can make it slower, never faster.
  // 24 MiB at 16 MiB/s is 1.5 s; allow the first window's burst.
  EXPECT_GE(secs, 1.0) << "the limit did not apply";
}
