#include "transport/tls/handshake_pool.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/error.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr auto drop_warning_interval = std::chrono::seconds{1};

int millis_until(clock_type::time_point deadline, clock_type::time_point now) {
  if (deadline <= now)
    return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline
                                                                    - now);
  return static_cast<int>(left.count()) + 1;
}

} // namespace

handshake_pool::handshake_pool(limits lim) : limits_(lim) {
  if (limits_.threads == 0)
    limits_.threads = 1;
}

handshake_pool::~handshake_pool() {
  stop();
}

caf::error handshake_pool::start() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (started_ || stopping_)
    return caf::none;
  for (size_t i = 0; i < limits_.threads; ++i) {
    auto w = std::make_unique<worker>();
    w->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0)
      return make_error(errc::io_error,
                        std::string{"cannot create an eventfd: "}
                          + std::strerror(errno));
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    auto* raw = w.get();
    w->thread = std::thread{[this, raw] { run(*raw); }};
  }
  started_ = true;
  return caf::none;
}

bool handshake_pool::evict_oldest(const std::string* address) {
  auto oldest = entries_.end();
  for (auto i = entries_.begin(); i != entries_.end(); ++i)
    if ((address == nullptr || i->second.address == *address)
        && (oldest == entries_.end()
            || i->second.started < oldest->second.started))
      oldest = i;
  if (oldest == entries_.end())
    return false;
  oldest->second.evicted->store(true);
  --oldest->second.owner->load;
  --pending_;
  wake(*oldest->second.owner);
  entries_.erase(oldest);
  ++drops_since_warning_;
  return true;
}

void handshake_pool::make_room(const std::string& address) {
  auto from = [&] {
    size_t n = 0;
    for (auto& [id, e] : entries_)
      n += e.address == address ? 1 : 0;
    return n;
  };
  while (from() >= limits_.max_pending_per_address)
    if (!evict_oldest(&address))
      break;
  while (entries_.size() >= limits_.max_pending)
    if (!evict_oldest(nullptr))
      break;
  auto now = clock_type::now();
  if (drops_since_warning_ > 0
      && now - last_drop_warning_ >= drop_warning_interval) {
    FERRY_WARN("tls", "closed " << drops_since_warning_
                                << " unfinished TLS handshake(s) to make room "
                                   "for newer ones (the last for "
                                << address << "): "
                                << limits_.max_pending << " may wait, "
                                << limits_.max_pending_per_address
                                << " from one address");
    last_drop_warning_ = now;
    drops_since_warning_ = 0;
  }
}

bool handshake_pool::submit(std::unique_ptr<tls_handshake> hs,
                            admit_fn admit) {
  worker* target = nullptr;
  job j;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!started_ || stopping_)
      return false;
    auto address = hs->peer().substr(0, hs->peer().rfind(':'));
    make_room(address);
    for (auto& w : workers_)
      if (target == nullptr || w->load < target->load)
        target = w.get();
    ++target->load;
    ++pending_;
    j.id = next_id_++;
    j.evicted = std::make_shared<std::atomic<bool>>(false);
    entries_[j.id] = entry{address, clock_type::now(), j.evicted, target};
  }
  j.hs = std::move(hs);
  j.admit = std::move(admit);
  j.deadline = clock_type::now() + limits_.timeout;
  {
    std::lock_guard<std::mutex> guard{target->mtx};
    target->inbox.push_back(std::move(j));
  }
  wake(*target);
  return true;
}

void handshake_pool::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
  }
  for (auto& w : workers_)
    wake(*w);
  for (auto& w : workers_) {
    if (w->thread.joinable())
      w->thread.join();
    w->inbox.clear(); // Closes what arrived too late for the thread.
    if (w->wake_fd >= 0)
      ::close(w->wake_fd);
    w->wake_fd = -1;
  }
  pending_ = 0;
  std::lock_guard<std::mutex> guard{mtx_};
  entries_.clear();
}

void handshake_pool::wake(const worker& w) {
  uint64_t one = 1;
  if (w.wake_fd >= 0) {
    auto n = ::write(w.wake_fd, &one, sizeof(one));
    (void) n; // A full counter wakes the thread just as well.
  }
}

void handshake_pool::finished(worker& w, uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  // An evicted handshake was already uncounted when it was evicted.
  if (entries_.erase(id) == 0)
    return;
  --w.load;
  --pending_;
}

void handshake_pool::take_inbox(worker& w, std::vector<job>& jobs) {
  {
    std::lock_guard<std::mutex> guard{w.mtx};
    for (auto& j : w.inbox)
      jobs.push_back(std::move(j));
    w.inbox.clear();
  }
  // A job may have been evicted before it left the inbox, its wake-up
  // already consumed: close such jobs before waiting again.
  jobs.erase(std::remove_if(jobs.begin(), jobs.end(),
                            [](const job& j) { return j.evicted->load(); }),
             jobs.end());
}

bool handshake_pool::wait(worker& w, std::vector<job>& jobs,
                          std::vector<pollfd>& fds) {
  fds.clear();
  fds.push_back({w.wake_fd, POLLIN, 0});
  auto now = clock_type::now();
  int wait_ms = -1;
  for (auto& j : jobs) {
    fds.push_back({j.hs->fd(), j.hs->wanted_events(), 0});
    auto left = millis_until(j.deadline, now);
    if (wait_ms < 0 || left < wait_ms)
      wait_ms = left;
  }
  if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) {
    FERRY_ERROR("tls", "handshake pool: poll failed: " << std::strerror(errno));
    return false;
  }
  if (fds[0].revents != 0) {
    uint64_t count = 0;
    auto n = ::read(w.wake_fd, &count, sizeof(count));
    (void) n;
  }
  return true;
}

bool handshake_pool::advance(worker& w, job& j, bool ready,
                             clock_type::time_point now) {
  if (j.evicted->load()) {
    j.hs.reset(); // Closes the socket; make_room logged it.
    j.admit = nullptr;
    return false;
  }
  auto st = tls_handshake::state::in_progress;
  if (ready)
    st = j.hs->step();
  if (st == tls_handshake::state::in_progress && now >= j.deadline) {
    j.hs->fail(tls_handshake::failure::timed_out,
               "no handshake within "
                 + std::to_string(limits_.timeout.count()) + " ms");
    st = tls_handshake::state::failed;
  }
  if (st == tls_handshake::state::done) {
    finished(w, j.id);
    j.admit(std::move(j.hs));
    j.admit = nullptr;
    return false;
  }
  if (st == tls_handshake::state::failed) {
    FERRY_WARN("tls", "TLS handshake with " << j.hs->peer() << " failed: "
                                            << j.hs->failure_text());
    finished(w, j.id);
    j.hs.reset(); // Closes the socket.
    j.admit = nullptr;
    return false;
  }
  return true;
}

void handshake_pool::run(worker& w) {
  std::vector<job> jobs;
  std::vector<pollfd> fds;
  while (!stopping_) {
    take_inbox(w, jobs);
    if (!wait(w, jobs, fds) || stopping_)
      break;
    auto now = clock_type::now();
    size_t kept = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (!advance(w, jobs[i], fds[i + 1].revents != 0, now))
        continue;
      if (kept != i)
        jobs[kept] = std::move(jobs[i]);
      ++kept;
    }
    jobs.resize(kept);
  }
  // Shutting down: everything still pending is closed here.
  jobs.clear();
}

} // namespace ferry
