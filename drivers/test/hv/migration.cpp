#include "drivers/test/hv/migration.hpp"

#include <chrono>

#include "drivers/test/hv/stream_format.hpp"
#include "drivers/test/hv/stream_receiver.hpp"
#include "util/clock.hpp"

namespace ferry::testhv {

using clock_type = std::chrono::steady_clock;

namespace {

/// How often a pass refreshes its running bandwidth and dirty rate.
constexpr auto rate_interval = std::chrono::milliseconds{100};

/// Why a migration that stalled with nothing left to try fails.
std::string not_converging(uint64_t remaining, uint64_t iteration,
                           double bandwidth) {
  auto mib = remaining / (1024 * 1024);
  return "migration is not converging: " + std::to_string(mib)
         + " MiB still dirty after " + std::to_string(iteration)
         + " passes at "
         + std::to_string(static_cast<uint64_t>(bandwidth / (1024 * 1024)))
         + " MiB/s; raise the downtime limit or bandwidth, or use "
           "--auto-converge";
}

} // namespace

const char* to_string(mig_status s) {
  switch (s) {
    case mig_status::none: return "none";
    case mig_status::setup: return "setup";
    case mig_status::active: return "active";
    case mig_status::device: return "device";
    case mig_status::completed: return "completed";
    case mig_status::failed: return "failed";
    case mig_status::cancelled: return "cancelled";
  }
  return "unknown";
}

// -- migration ----------------------------------------------------------------

migration::migration(guest_ptr g, status_callback cb)
  : guest_(std::move(g)), callback_(std::move(cb)) {
  stats_.total_bytes = guest_->ram_bytes();
}

migration::~migration() {
  join();
}

void migration::launch(std::function<void()> body) {
  thread_ = std::thread{std::move(body)};
}

mig_stats migration::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return stats_;
}

bool migration::finished() const {
  auto s = status();
  return s == mig_status::completed || s == mig_status::failed
         || s == mig_status::cancelled;
}

void migration::cancel() {
  cancelled_ = true;
  if (channel_)
    channel_->abort();
}

void migration::join() {
  if (thread_.joinable())
    thread_.join();
}

void migration::set_status(mig_status s, std::string error) {
  if (s == mig_status::failed && cancelled_)
    s = mig_status::cancelled;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stats_.status = s;
    if (!error.empty())
      stats_.error = std::move(error);
  }
  if (callback_)
    callback_(s);
}

// -- outgoing_migration -------------------------------------------------------

outgoing_migration::outgoing_migration(guest_ptr g, mig_params params,
                                       status_callback cb)
  : migration(std::move(g), std::move(cb)), params_(params) {
  buf_.resize(5 + stream::max_batch * (8 + guest_page_size));
}

outgoing_migration::~outgoing_migration() {
  cancel();
  join();
}

void outgoing_migration::set_params(const mig_params& p) {
  std::lock_guard<std::mutex> guard{params_mtx_};
  params_ = p;
}

mig_params outgoing_migration::params() const {
  std::lock_guard<std::mutex> guard{params_mtx_};
  return params_;
}

void outgoing_migration::start(channel_ptr ch, bool send_go) {
  channel_ = std::move(ch);
  update([&](mig_stats& s) {
    s.status = mig_status::setup;
    s.was_running = guest_->running();
  });
  launch([this, send_go] { run(send_go); });
}

bool outgoing_migration::write(const void* data, size_t len) {
  if (!channel_->write_all(data, len))
    return false;
  update([&](mig_stats& s) { s.transferred_bytes += len; });
  return true;
}

void outgoing_migration::throttle_bandwidth(uint64_t bytes_so_far,
                                            clock_type::time_point since) {
  auto limit = params().max_bandwidth;
  if (limit == 0)
    return;
  auto due = since
             + std::chrono::microseconds(bytes_so_far * 1000000 / limit);
  while (clock_type::now() < due && !cancelled_)
    std::this_thread::sleep_for(
      std::min<clock_type::duration>(due - clock_type::now(),
                                     std::chrono::milliseconds{50}));
}

bool outgoing_migration::send_pass(uint64_t* pass_bytes) {
  uint64_t cursor = 0;
  uint64_t pfns[stream::max_batch];
  auto start = clock_type::now();
  auto written_before = guest_->pages_written();
  auto next_rate = start + rate_interval;
  *pass_bytes = 0;
  for (;;) {
    if (cancelled_)
      return false;
    auto n = guest_->take_dirty(&cursor, pfns, stream::max_batch);
    if (n == 0)
      return true;
    char* p = buf_.data();
    *p++ = stream::rec_pages;
    stream::put_u32(p, static_cast<uint32_t>(n));
    p += 4;
    for (size_t i = 0; i < n; ++i, p += 8)
      stream::put_u64(p, pfns[i]);
    {
      std::lock_guard<std::mutex> guard{guest_->ram_mutex()};
      for (size_t i = 0; i < n; ++i, p += guest_page_size)
        guest_->read_page(pfns[i], p);
    }
    auto len = static_cast<size_t>(p - buf_.data());
    if (!write(buf_.data(), len))
      return false;
    *pass_bytes += len;
    update([&](mig_stats& s) {
      s.remaining_bytes = s.remaining_bytes > n * guest_page_size
                            ? s.remaining_bytes - n * guest_page_size
                            : 0;
    });
    throttle_bandwidth(*pass_bytes, start);
    // The running figures of this pass, every rate_interval (until the
    // first, the last pass's figures stay): bytes sent and pages dirtied
    // per second so far. Measured after the bandwidth limit's wait, so a
    // limited pass shows its limit.
    auto now = clock_type::now();
    if (now >= next_rate) {
      next_rate = now + rate_interval;
      auto secs = std::chrono::duration<double>(now - start).count();
      auto dirtied = guest_->pages_written() - written_before;
      update([&](mig_stats& s) {
        s.mbps = static_cast<double>(*pass_bytes) / secs / (1024 * 1024);
        s.dirty_pages_rate = static_cast<uint64_t>(
          static_cast<double>(dirtied) / secs);
      });
    }
  }
}

/// Where the pre-copy loop stands: the lowest remaining count so far and
/// when it was reached (what the progress timeout measures from), and the
/// bandwidth the last pass measured.
struct outgoing_migration::precopy_state {
  uint64_t best_remaining = UINT64_MAX;
  clock_type::time_point best_at = clock_type::now();
  double bandwidth = 0; // bytes/s measured over the last pass
};

void outgoing_migration::run(bool send_go) {
  started_ = clock_type::now();
  if (!send_header())
    return;
  bool was_running = stats().was_running;
  begin_precopy();
  if (!precopy())
    return;
  // Stop-and-copy.
  set_status(mig_status::device);
  auto pause_start = clock_type::now();
  if (!send_last_pass(was_running) || !await_verdict(send_go))
    return;
  channel_->finish();
  update([&](mig_stats& s) {
    s.remaining_bytes = 0;
    s.downtime_ms = ms_since(pause_start);
    s.total_time_ms = ms_since(started_);
  });
  set_status(mig_status::completed);
}

bool outgoing_migration::fail(const std::string& why) {
  update([&](mig_stats& s) { s.total_time_ms = ms_since(started_); });
  channel_->abort(); // the receiver sees EOF now, not after a timeout
  set_status(mig_status::failed, why);
  return false;
}

bool outgoing_migration::send_header() {
  char header[stream::header_size];
  std::memcpy(header, stream::magic, 8);
  stream::put_u64(header + 8, guest_->ram_bytes());
  stream::put_u32(header + 16, static_cast<uint32_t>(guest_page_size));
  stream::put_u32(header + 20, 0);
  if (!write(header, sizeof(header)))
    return fail(channel_->error());
  return true;
}

void outgoing_migration::pause_guest() {
  update([&](mig_stats& s) { s.paused_at_ms = unix_ms(); });
  guest_->pause();
}

void outgoing_migration::begin_precopy() {
  if (!params().live && guest_->running())
    pause_guest();
  guest_->mark_all_dirty();
  // All of RAM is to be sent: "active" never shows 0 bytes remaining.
  update([&](mig_stats& s) {
    s.remaining_bytes = guest_->dirty_count() * guest_page_size;
  });
  set_status(mig_status::active);
}

bool outgoing_migration::precopy() {
  precopy_state st;
  for (uint64_t iteration = 0;; ++iteration) {
    auto p = params();
    auto remaining = guest_->dirty_count() * guest_page_size;
    auto expected_ms = report_iteration(iteration, remaining, st.bandwidth);
    if (!guest_->running())
      return true; // Not live (or paused meanwhile): one pass sends everything.
    if (iteration > 0 && expected_ms <= p.downtime_limit_ms)
      return true;
    if (!check_progress(st, remaining, iteration, p)
        || !send_iteration(iteration, &st.bandwidth))
      return false;
  }
}

uint64_t outgoing_migration::report_iteration(uint64_t iteration,
                                              uint64_t remaining,
                                              double bandwidth) {
  auto expected_ms = bandwidth > 0
                       ? static_cast<uint64_t>(remaining * 1000 / bandwidth)
                       : UINT64_MAX;
  update([&](mig_stats& s) {
    s.remaining_bytes = remaining;
    s.iteration = iteration;
    s.expected_downtime_ms = expected_ms == UINT64_MAX ? 0 : expected_ms;
  });
  return expected_ms;
}

bool outgoing_migration::check_progress(precopy_state& st, uint64_t remaining,
                                        uint64_t iteration,
                                        const mig_params& p) {
  // Progress means a new low at least 10% below the previous one; a
  // remaining count that wobbles near a plateau is a stall.
  if (remaining < st.best_remaining - st.best_remaining / 10
      || st.best_remaining == UINT64_MAX) {
    st.best_remaining = remaining;
    st.best_at = clock_type::now();
    return true;
  }
  if (p.progress_timeout_ms == 0
      || ms_since(st.best_at) <= p.progress_timeout_ms)
    return true;
  if (!p.auto_converge || guest_->throttle() >= 99)
    return fail(not_converging(remaining, iteration, st.bandwidth));
  throttle_harder();
  st.best_at = clock_type::now();
  st.best_remaining = remaining;
  return true;
}

void outgoing_migration::throttle_harder() {
  auto next = guest_->throttle() == 0 ? 30u : guest_->throttle() + 20u;
  guest_->set_throttle(next);
  update([&](mig_stats& s) { s.throttle = guest_->throttle(); });
}

bool outgoing_migration::send_iteration(uint64_t iteration,
                                        double* bandwidth) {
  auto pass_start = clock_type::now();
  auto written_before = guest_->pages_written();
  uint64_t pass_bytes = 0;
  if (!send_pass(&pass_bytes))
    return fail(channel_->error());
  char rec[5];
  rec[0] = stream::rec_iteration;
  stream::put_u32(rec + 1, static_cast<uint32_t>(iteration));
  if (!write(rec, sizeof(rec)))
    return fail(channel_->error());
  auto secs = std::chrono::duration<double>(clock_type::now() - pass_start)
                .count();
  if (secs > 0) {
    *bandwidth = static_cast<double>(pass_bytes) / secs;
    auto dirtied = guest_->pages_written() - written_before;
    update([&](mig_stats& s) {
      s.mbps = *bandwidth / (1024 * 1024);
      s.dirty_pages_rate = static_cast<uint64_t>(dirtied / secs);
    });
  }
  return true;
}

bool outgoing_migration::send_last_pass(bool was_running) {
  if (guest_->running())
    pause_guest();
  uint64_t last_bytes = 0;
  if (!send_pass(&last_bytes))
    return fail(channel_->error());
  char done[1 + 1 + 32];
  done[0] = stream::rec_complete;
  done[1] = was_running ? 1 : 0;
  auto digest = guest_->digest();
  std::memcpy(done + 2, digest.data(), 32);
  if (!write(done, sizeof(done)))
    return fail(channel_->error());
  return true;
}

bool outgoing_migration::await_verdict(bool send_go) {
  char verdict = 0;
  if (!channel_->read_exact(&verdict, 1))
    return fail("no verdict from the destination: " + channel_->error());
  if (verdict != stream::reply_ok)
    return fail("the destination rejected the migration stream (digest "
                "mismatch)");
  if (send_go && !channel_->write_all(&stream::reply_go, 1))
    return fail("cannot confirm to the destination: " + channel_->error());
  return true;
}

// -- incoming_migration -------------------------------------------------------

incoming_migration::incoming_migration(guest_ptr g, status_callback cb)
  : migration(std::move(g), std::move(cb)) {
}

incoming_migration::~incoming_migration() {
  cancel();
  join();
}

void incoming_migration::start(channel_ptr ch, bool await_go) {
  channel_ = std::move(ch);
  set_status(mig_status::active);
  launch([this, await_go] { run(await_go); });
}

bool incoming_migration::fail(const std::string& why) {
  channel_->abort(); // the sender sees the failure now, not after a timeout
  set_status(mig_status::failed, why);
  return false;
}

void incoming_migration::run(bool await_go) {
  receive_hooks hooks;
  hooks.received = [this](size_t n) {
    update([&](mig_stats& s) { s.transferred_bytes += n; });
  };
  hooks.iteration = [this](uint32_t pass) {
    update([&](mig_stats& s) { s.iteration = pass + 1; });
  };
  auto end = receive_stream(*channel_, *guest_, hooks);
  if (!end.ok) {
    fail(end.error);
    return;
  }
  update([&](mig_stats& s) { s.was_running = end.was_running; });
  set_status(mig_status::device);
  if (guest_->digest() != end.digest) {
    channel_->write_all(&stream::reply_rejected, 1);
    fail("digest mismatch: the received RAM differs from the source's");
    return;
  }
  if (!await_go) {
    // Verified: report it before the verdict leaves, so that a finish
    // the source triggers on 'K' never sees an earlier status.
    set_status(mig_status::completed);
    if (!channel_->write_all(&stream::reply_ok, 1))
      return; // the source fails; finish(false) tears us down
    channel_->finish();
    return;
  }
  char go = 0;
  if (!channel_->write_all(&stream::reply_ok, 1)
      || !channel_->read_exact(&go, 1) || go != stream::reply_go) {
    fail("outcome unknown: the source did not confirm after the verdict");
    return;
  }
  channel_->finish();
  set_status(mig_status::completed);
}

} // namespace ferry::testhv
