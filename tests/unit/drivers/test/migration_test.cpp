#include "drivers/test/hv/migration.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "drivers/test/hv/stream_format.hpp"

using namespace ferry;
using namespace ferry::testhv;

namespace {

domain_definition def_of(uint64_t mib, double rate, uint64_t ws_mib = 0) {
  domain_definition def;
  def.type = "test";
  def.name = "m";
  def.uuid = "1d4f1f8e-7d33-4c7b-9d2b-0c9b3f0a2e11";
  def.memory_bytes = mib << 20;
  def.dirty_rate_mibps = rate;
  def.working_set_bytes = ws_mib << 20;
  return def;
}

struct pair_of_channels {
  channel_ptr a;
  channel_ptr b;
};

pair_of_channels make_pair_of_channels(int timeout_ms = 5000) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  return {std::make_unique<fd_channel>(fds[0], timeout_ms),
          std::make_unique<fd_channel>(fds[1], timeout_ms)};
}

void wait_finished(migration& m) {
  for (int i = 0; i < 2000 && !m.finished(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
}

} // namespace

TEST(migration, live_precopy_converges_and_digests_match) {
  auto src = std::make_shared<guest>(def_of(32, 16, 4), true);
  auto dst = std::make_shared<guest>(def_of(32, 0), false);
  src->resume();
  auto chans = make_pair_of_channels();
  mig_params params;
  params.downtime_limit_ms = 50;
  incoming_migration in{dst, nullptr};
  outgoing_migration out{src, params, nullptr};
  in.start(std::move(chans.b));
  out.start(std::move(chans.a));
  wait_finished(out);
  wait_finished(in);
  auto so = out.stats();
  ASSERT_EQ(so.status, mig_status::completed) << so.error;
  ASSERT_EQ(in.stats().status, mig_status::completed) << in.stats().error;
  EXPECT_TRUE(so.was_running);
  EXPECT_GE(so.iteration, 1u);
  EXPECT_GE(so.transferred_bytes, 32u << 20);
  EXPECT_FALSE(src->running()); // stays paused until the agent confirms
  EXPECT_EQ(src->digest(), dst->digest());
}

TEST(migration, offline_migration_pauses_first) {
  auto src = std::make_shared<guest>(def_of(8, 64), true);
  auto dst = std::make_shared<guest>(def_of(8, 0), false);
  src->resume();
  auto chans = make_pair_of_channels();
  mig_params params;
  params.live = false;
  incoming_migration in{dst, nullptr};
  outgoing_migration out{src, params, nullptr};
  in.start(std::move(chans.b));
  out.start(std::move(chans.a));
  wait_finished(out);
  wait_finished(in);
  ASSERT_EQ(out.stats().status, mig_status::completed) << out.stats().error;
  EXPECT_EQ(out.stats().iteration, 0u);
  EXPECT_EQ(src->digest(), dst->digest());
}

TEST(migration, stall_fails_without_auto_converge) {
  // 8 MiB/s limit against a 64 MiB/s workload over 2 MiB never converges.
  auto src = std::make_shared<guest>(def_of(2, 64), true);
  auto dst = std::make_shared<guest>(def_of(2, 0), false);
  src->resume();
  auto chans = make_pair_of_channels();
  mig_params params;
  params.max_bandwidth = 8u << 20;
  params.downtime_limit_ms = 1;
  params.progress_timeout_ms = 500;
  incoming_migration in{dst, nullptr};
  outgoing_migration out{src, params, nullptr};
  in.start(std::move(chans.b));
  out.start(std::move(chans.a));
  wait_finished(out);
  EXPECT_EQ(out.stats().status, mig_status::failed);
  EXPECT_NE(out.stats().error.find("not converging"), std::string::npos)
    << out.stats().error;
  EXPECT_TRUE(src->running()); // a failed migration never stops the source
  wait_finished(in);
  EXPECT_EQ(in.stats().status, mig_status::failed);
}

TEST(migration, auto_converge_throttles_until_it_converges) {
  auto src = std::make_shared<guest>(def_of(2, 64), true);
  auto dst = std::make_shared<guest>(def_of(2, 0), false);
  src->resume();
  auto chans = make_pair_of_channels();
  mig_params params;
  params.max_bandwidth = 16u << 20;
  params.downtime_limit_ms = 30;
  params.progress_timeout_ms = 300;
  params.auto_converge = true;
  incoming_migration in{dst, nullptr};
  outgoing_migration out{src, params, nullptr};
  in.start(std::move(chans.b));
  out.start(std::move(chans.a));
  wait_finished(out);
  wait_finished(in);
  ASSERT_EQ(out.stats().status, mig_status::completed) << out.stats().error;
  EXPECT_GT(out.stats().throttle, 0u);
  EXPECT_EQ(src->digest(), dst->digest());
}

TEST(migration, cancel_stops_both_sides) {
  auto src = std::make_shared<guest>(def_of(64, 0), true);
  auto dst = std::make_shared<guest>(def_of(64, 0), false);
  src->resume();
  auto chans = make_pair_of_channels();
  mig_params params;
  params.max_bandwidth = 16u << 20; // slow enough to cancel mid-way
  incoming_migration in{dst, nullptr};
  outgoing_migration out{src, params, nullptr};
  in.start(std::move(chans.b));
  out.start(std::move(chans.a));
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  out.cancel();
  wait_finished(out);
  wait_finished(in);
  EXPECT_EQ(out.stats().status, mig_status::cancelled);
  EXPECT_EQ(in.stats().status, mig_status::failed);
  EXPECT_TRUE(src->running());
}

TEST(migration, receiver_rejects_garbage) {
  auto dst = std::make_shared<guest>(def_of(8, 0), false);
  auto chans = make_pair_of_channels(1000);
  incoming_migration in{dst, nullptr};
  in.start(std::move(chans.b));
  std::string junk(64, 'x');
  ASSERT_TRUE(chans.a->write_all(junk.data(), junk.size()));
  wait_finished(in);
  EXPECT_EQ(in.stats().status, mig_status::failed);
  EXPECT_NE(in.stats().error.find("not a ferry"), std::string::npos);
}

TEST(migration, receiver_rejects_out_of_range_pages) {
  auto dst = std::make_shared<guest>(def_of(8, 0), false);
  auto chans = make_pair_of_channels(1000);
  incoming_migration in{dst, nullptr};
  in.start(std::move(chans.b));
  std::string msg(stream::header_size + 5 + 8 + guest_page_size, '\0');
  std::memcpy(msg.data(), stream::magic, 8);
  stream::put_u64(msg.data() + 8, dst->ram_bytes());
  stream::put_u32(msg.data() + 16, guest_page_size);
  msg[stream::header_size] = stream::rec_pages;
  stream::put_u32(msg.data() + stream::header_size + 1, 1);
  stream::put_u64(msg.data() + stream::header_size + 5, 1u << 30);
  ASSERT_TRUE(chans.a->write_all(msg.data(), msg.size()));
  wait_finished(in);
  EXPECT_EQ(in.stats().status, mig_status::failed);
  EXPECT_NE(in.stats().error.find("beyond RAM"), std::string::npos);
}
