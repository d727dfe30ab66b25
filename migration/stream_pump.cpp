#include "migration/stream_pump.hpp"

#include <chrono>
#include <vector>

#include <caf/send.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/door/harden.hpp"
#include "messages/all.hpp"
#include "transport/door/interface.hpp"
#include "util/fd_io.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using self_ptr = door_stateful<stream_pump_state>*;
using clock_type = std::chrono::steady_clock;

/// Reader thread to its own pump: our descriptor reached its end.
struct reader_done {
  bool unused = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reader_done& x) {
  return f(caf::meta::type_name("ferry.reader_done"), x.unused);
}

/// Blocks until `fd` is readable or the pump stops; false when stopping.
bool wait_readable(int fd, pump_shared& sh) {
  for (;;) {
    {
      std::lock_guard<std::mutex> guard{sh.mtx};
      if (sh.stop)
        return false;
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, 200);
    if (rc > 0 || (rc < 0 && errno != EINTR))
      return true;
  }
}

/// Waits for credit from the peer; false once the pump stops.
bool wait_for_credit(pump_shared& sh) {
  std::unique_lock<std::mutex> guard{sh.mtx};
  sh.cv.wait(guard, [&] { return sh.stop || sh.credit > 0; });
  return !sh.stop;
}

/// Fills `buf` with what `fd` has now; blocks only for the first bytes, so
/// small messages (the return path) are not delayed. Sets `eof` at the end
/// of the stream or on an error.
size_t fill_chunk(int fd, chunk_bytes& buf, bool& eof) {
  size_t filled = 0;
  while (filled < buf.size()) {
    auto n = ::recv(fd, buf.data() + filled, buf.size() - filled,
                    filled == 0 ? 0 : MSG_DONTWAIT);
    if (n > 0) {
      filled += static_cast<size_t>(n);
      continue;
    }
    if (n == 0)
      eof = true;
    else if (errno == EINTR)
      continue;
    else if (errno != EAGAIN && errno != EWOULDBLOCK)
      eof = true;
    break;
  }
  return filled;
}

/// Sleeps until `sent` bytes since `start` are within the bandwidth limit;
/// false if the pump stopped meanwhile.
bool pace(pump_shared& sh, clock_type::time_point start, uint64_t sent) {
  auto limit = sh.bandwidth.load();
  if (limit == 0)
    return true;
  auto due = start + std::chrono::microseconds(sent * 1000000 / limit);
  while (clock_type::now() < due) {
    std::unique_lock<std::mutex> guard{sh.mtx};
    if (sh.cv.wait_until(guard, due, [&] { return sh.stop; }))
      return false;
  }
  return true;
}

/// The reader thread: descriptor -> peer, within credit and bandwidth.
void read_loop(int fd, caf::actor peer, caf::actor me, pump_config cfg,
               std::shared_ptr<pump_shared> sh) {
  uint64_t seq = 0;
  uint64_t sent = 0;
  auto start = clock_type::now();
  for (;;) {
    if (!wait_for_credit(*sh) || !wait_readable(fd, *sh))
      return;
    // Uninitialised and, at the default chunk size, a recycled slab: no
    // memset, no mmap/munmap and no page faults per chunk.
    chunk_bytes buf(cfg.chunk_bytes);
    bool eof = false;
    auto filled = fill_chunk(fd, buf, eof);
    if (filled > 0) {
      buf.resize(filled);
      {
        std::lock_guard<std::mutex> guard{sh->mtx};
        --sh->credit;
      }
      sh->bytes_out += filled;
      caf::send_as(me, peer, pump_chunk{seq++, std::move(buf)});
      sent += filled;
      if (!pace(*sh, start, sent))
        return;
    }
    if (eof) {
      caf::send_as(me, peer, pump_eof{seq});
      caf::anon_send(me, reader_done{});
      return;
    }
  }
}

void start_reader(self_ptr self) {
  auto& st = self->state;
  {
    std::lock_guard<std::mutex> guard{st.shared->mtx};
    st.shared->credit = st.cfg.window;
  }
  st.shared->bandwidth = st.cfg.bandwidth;
  st.reader = std::thread{read_loop, st.fd, st.peer,
                          caf::actor_cast<caf::actor>(self), st.cfg, st.shared};
}

void maybe_finish(self_ptr self) {
  if (self->state.eof_in && self->state.eof_out) {
    self->state.shared->finished = true;
    self->quit();
  }
}

} // namespace

chunk_pool_lease::chunk_pool_lease() {
  chunk_pool::instance().retain();
}

chunk_pool_lease::~chunk_pool_lease() {
  chunk_pool::instance().release();
}

stream_pump_state::~stream_pump_state() {
  if (shared) {
    {
      std::lock_guard<std::mutex> guard{shared->mtx};
      shared->stop = true;
    }
    shared->cv.notify_all();
  }
  if (fd >= 0)
    ::shutdown(fd, SHUT_RDWR);
  if (reader.joinable())
    reader.join();
  if (fd >= 0)
    ::close(fd);
}

bool make_pump_socketpair(int& ours, int& theirs) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return false;
  int size = 2 * 1024 * 1024;
  for (int fd : sv) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  ours = sv[0];
  theirs = sv[1];
  return true;
}

namespace {

/// Opens the pump to its peer pump, which alone may feed it.
void admit_peer(self_ptr self) {
  auto& peer = self->state.peer;
  self->open_door(peer.node(), peer.id(),
                  accepted_types<pump_peer>(self->system()), false,
                  "pump of job " + self->state.job_id);
}

/// True if the current message comes from the peer pump.
bool from_peer(self_ptr self) {
  if (self->current_sender() == self->state.peer)
    return true;
  FERRY_WARN("pump", "job " << self->state.job_id
                            << ": dropped a message from an actor that is "
                               "not this pump's peer");
  return false;
}

caf::result<bool> on_hello(self_ptr self, const pump_hello& hello) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor>(self->current_sender());
  if (st.peer || hello.job_id != st.job_id || !sender
      || (st.greeter && sender.node() != st.greeter))
    return make_error(errc::stale_message, "unexpected pump_hello");
  st.peer = std::move(sender);
  self->monitor(st.peer);
  admit_peer(self);
  start_reader(self);
  return true;
}

} // namespace

door pump_greeting_door(caf::actor_system& sys, const caf::node_id& greeter,
                        const std::string& job_id) {
  // The peer's first chunks may be on the wire right behind its hello,
  // before this pump has taken the hello: the door already lets a pump's
  // messages through from the greeter's node, and the pump itself takes
  // them from the pump that greeted it only (`from_peer`).
  return {0, greeter, 0, accepted_types<pump_remote>(sys), false,
          "pump of job " + job_id + " (awaiting its peer)"};
}

caf::actor spawn_waiting_pump(caf::local_actor* spawner, std::string job_id,
                              int fd, caf::node_id greeter, pump_config cfg,
                              std::shared_ptr<pump_shared> shared) {
  auto door = pump_greeting_door(spawner->system(), greeter, job_id);
  auto pump = spawner->spawn<caf::detached>(stream_pump, std::move(job_id), fd,
                                            caf::actor{}, std::move(greeter),
                                            cfg, std::move(shared));
  door.actor = pump.id();
  open_door_early(spawner->system(), std::move(door));
  return pump;
}

namespace {

/// With a peer (the source side): greet it and start reading. Without
/// (the destination side): wait behind a door for the peer's hello.
void start_pump(self_ptr self, caf::actor peer) {
  auto& st = self->state;
  if (!peer) {
    auto door = pump_greeting_door(self->system(), st.greeter, st.job_id);
    door.actor = self->id();
    self->open_door(std::move(door));
    return;
  }
  st.peer = std::move(peer);
  self->monitor(st.peer);
  admit_peer(self);
  // A request, so that the answer comes back as one (an answer to a plain
  // message would arrive as a message the peer's door refuses).
  self->request(st.peer, std::chrono::seconds{30}, pump_hello{st.job_id})
    .then([](bool) {},
          [self](caf::error& err) {
            FERRY_WARN("pump", "job " << self->state.job_id
                                      << ": the peer pump refused us: "
                                      << error_text(err));
            self->quit(err);
          });
  start_reader(self);
}

/// A chunk from the peer: in order, onto the hypervisor's descriptor, then
/// acknowledged (the sender's credit).
void on_chunk(self_ptr self, pump_chunk& chunk) {
  if (!from_peer(self))
    return;
  auto& st = self->state;
  if (chunk.seq != st.next_in) {
    FERRY_ERROR("pump", "job " << st.job_id << ": chunk " << chunk.seq
                               << " out of order (expected "
                               << st.next_in << ")");
    self->quit(make_error(errc::internal, "pump stream out of order"));
    return;
  }
  ++st.next_in;
  if (!send_all(st.fd, chunk.data.data(), chunk.data.size())) {
    FERRY_WARN("pump", "job " << st.job_id
                              << ": the hypervisor closed its side");
    self->quit(make_error(errc::io_error, "hypervisor side closed"));
    return;
  }
  st.shared->bytes_in += chunk.data.size();
  self->send(st.peer, pump_ack{chunk.seq});
}

} // namespace

caf::behavior stream_pump(door_stateful<stream_pump_state>* self,
                          std::string job_id, int fd, caf::actor peer,
                          caf::node_id greeter, pump_config cfg,
                          std::shared_ptr<pump_shared> shared) {
  harden(self, "pump");
  auto& st = self->state;
  st.job_id = std::move(job_id);
  st.greeter = std::move(greeter);
  st.fd = fd;
  st.cfg = cfg;
  st.shared = std::move(shared);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.peer.address()) {
      FERRY_WARN("pump", "job " << self->state.job_id
                                << ": peer pump lost; closing the stream");
      self->quit(make_error(errc::disconnected, "peer pump lost"));
    }
  });
  start_pump(self, std::move(peer));
  return {
    [self](const pump_hello& hello) { return on_hello(self, hello); },
    [self](pump_chunk& chunk) { on_chunk(self, chunk); },
    [self](const pump_ack&) {
      if (!from_peer(self))
        return;
      auto& sh = *self->state.shared;
      {
        std::lock_guard<std::mutex> guard{sh.mtx};
        ++sh.credit;
      }
      sh.cv.notify_all();
    },
    [self](const pump_eof&) {
      if (!from_peer(self))
        return;
      auto& st = self->state;
      st.eof_in = true;
      ::shutdown(st.fd, SHUT_WR);
      maybe_finish(self);
    },
    [self](const reader_done&) {
      self->state.eof_out = true;
      maybe_finish(self);
    },
    [self](const pump_rate& rate) {
      // From this node's source job only (`migrate-setspeed`).
      if (self->current_sender()
          && self->current_sender()->node() != self->node())
        return;
      self->state.shared->bandwidth = rate.bytes_per_second;
      self->state.shared->cv.notify_all();
    },
  };
}

void add_pump_figures(const std::shared_ptr<pump_shared>& sh, job_stats& s) {
  if (!sh)
    return;
  s.pump_bytes = sh->bytes_in + sh->bytes_out;
  std::lock_guard<std::mutex> guard{sh->mtx};
  s.pump_credit = sh->credit;
}

} // namespace ferry
