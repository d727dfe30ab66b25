#include "tools/scenario/link_proxy.hpp"

#include <cerrno>
#include <deque>
#include <list>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/net.hpp"

namespace ferry::scenario {

namespace {

using clock_type = std::chrono::steady_clock;

/// Bytes waiting to be forwarded in one direction.
struct chunk {
  clock_type::time_point due;
  std::string data;
};

/// One relayed connection: a (client) and b (target) sockets.
struct pair {
  int a = -1;
  int b = -1;
  std::deque<chunk> to_b;
  std::deque<chunk> to_a;
  bool closed = false;
};

constexpr size_t max_queued = 4 * 1024 * 1024; // per direction

size_t queued(const std::deque<chunk>& q) {
  size_t n = 0;
  for (auto& c : q)
    n += c.data.size();
  return n;
}

/// Writes what is due from `q` to `fd`; false if the socket failed.
bool flush(int fd, std::deque<chunk>& q, clock_type::time_point now) {
  while (!q.empty() && q.front().due <= now) {
    auto& c = q.front();
    auto n = ::send(fd, c.data.data(), c.data.size(),
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK;
    if (static_cast<size_t>(n) < c.data.size()) {
      c.data.erase(0, static_cast<size_t>(n));
      return true;
    }
    q.pop_front();
  }
  return true;
}

} // namespace

link_proxy::link_proxy(host_port target) : target_(std::move(target)) {
  std::string err;
  listen_fd_ = net::tcp_listen({"127.0.0.1", 0}, &port_, err);
  if (listen_fd_ >= 0)
    thread_ = std::thread{[this] { loop(); }};
}

link_proxy::~link_proxy() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
}

void link_proxy::cut() {
  cut_ = true;
}

void link_proxy::restore() {
  cut_ = false;
}

void link_proxy::set_delay(std::chrono::milliseconds delay) {
  delay_ms_ = delay.count();
}

void link_proxy::loop() {
  std::list<pair> pairs;
  char buf[65536];
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back({listen_fd_, POLLIN, 0});
    bool cut = cut_;
    for (auto& p : pairs) {
      short want_a = 0;
      short want_b = 0;
      if (!cut) {
        // Read only while the other direction's queue has room: TCP then
        // pushes back on the sender, as a slow link would.
        if (queued(p.to_b) < max_queued)
          want_a |= POLLIN;
        if (queued(p.to_a) < max_queued)
          want_b |= POLLIN;
        if (!p.to_a.empty())
          want_a |= POLLOUT;
        if (!p.to_b.empty())
          want_b |= POLLOUT;
      }
      fds.push_back({p.a, want_a, 0});
      fds.push_back({p.b, want_b, 0});
    }
    ::poll(fds.data(), fds.size(), 10);
    auto now = clock_type::now();
    auto delay = std::chrono::milliseconds{delay_ms_.load()};
    size_t idx = 1;
    for (auto& p : pairs) {
      auto& pa = fds[idx++];
      auto& pb = fds[idx++];
      if (cut)
        continue;
      auto pump = [&](int from, std::deque<chunk>& q, short revents) {
        if (!(revents & (POLLIN | POLLHUP | POLLERR)))
          return;
        auto n = ::recv(from, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
          q.push_back(chunk{now + delay, std::string(buf, static_cast<size_t>(n))});
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
          p.closed = true;
      };
      pump(p.a, p.to_b, pa.revents);
      pump(p.b, p.to_a, pb.revents);
      if (!flush(p.b, p.to_b, now) || !flush(p.a, p.to_a, now))
        p.closed = true;
    }
    // Accepted after the pairs were served: `fds` has no entries for a
    // pair added now (indexing them read past its end; ASan found it).
    if (fds[0].revents & POLLIN) {
      int a = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (a >= 0) {
        std::string err;
        int b = net::tcp_connect(target_, 2000, err);
        if (b < 0) {
          ::close(a);
        } else {
          net::tune_data_socket(a);
          net::tune_data_socket(b);
          pairs.push_back(pair{a, b, {}, {}, false});
        }
      }
    }
    for (auto i = pairs.begin(); i != pairs.end();) {
      if (i->closed && i->to_a.empty() && i->to_b.empty()) {
        ::close(i->a);
        ::close(i->b);
        i = pairs.erase(i);
      } else if (i->closed) {
        // Deliver what is queued, then close.
        if (!flush(i->b, i->to_b, now) || !flush(i->a, i->to_a, now)) {
          i->to_a.clear();
          i->to_b.clear();
        }
        ++i;
      } else {
        ++i;
      }
    }
  }
  for (auto& p : pairs) {
    ::close(p.a);
    ::close(p.b);
  }
}

} // namespace ferry::scenario
