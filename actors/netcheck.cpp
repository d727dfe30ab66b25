#include "actors/netcheck.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/result.hpp>
#include <caf/send.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/door/harden.hpp"
#include "actors/peer_link.hpp"
#include "messages/all.hpp"
#include "transport/door/interface.hpp"
#include "util/fd_io.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

using clock_type = std::chrono::steady_clock;
using tick_atom = caf::atom_constant<caf::atom("nc_tick")>;

/// Feeder thread (the source hypervisor's stand-in): writes `bytes`
/// stamped bytes into the pump's socketpair, half-closes it, then waits
/// for the pump to close the other direction.
void feed_loop(int fd, uint64_t bytes) {
  std::vector<char> buf(1 << 20);
  for (size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<char>((i * 131 + 7) & 0xff);
  uint64_t off = 0;
  bool ok = true;
  while (ok && off < bytes) {
    auto len = static_cast<size_t>(std::min<uint64_t>(buf.size(), bytes - off));
    netcheck_stamps::write(buf.data(), len, off);
    ok = send_all(fd, buf.data(), len);
    if (ok)
      off += len;
  }
  ::shutdown(fd, SHUT_WR);
  char sink[4096];
  for (;;) {
    auto n = ::recv(fd, sink, sizeof(sink), 0);
    if (n > 0 || (n < 0 && errno == EINTR))
      continue;
    break;
  }
}

/// Drain thread (the destination hypervisor's stand-in): reads until the
/// pump half-closes, checking every stamp that lies whole in a read.
void drain_loop(int fd, std::shared_ptr<netcheck_counters> out) {
  std::vector<char> buf(256 * 1024);
  netcheck_stamps::checker check;
  for (;;) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    check.feed(buf.data(), static_cast<size_t>(n));
    out->bytes = check.offset;
  }
  out->stamps = check.stamps;
  out->intact = check.intact;
  // Done before closing: closing our end is the pump's end of stream in
  // this direction, after which the source may collect at once.
  out->done = true;
  ::shutdown(fd, SHUT_RDWR);
}

/// Stops the thread behind `fd` (shutdown wakes a blocked send or recv),
/// joins it and closes the descriptor.
void stop_thread(int& fd, std::thread& t) {
  if (fd >= 0)
    ::shutdown(fd, SHUT_RDWR);
  if (t.joinable())
    t.join();
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

/// True (and the time noted) when `now_bytes` moved since the last tick;
/// false once nothing moved for `limit`.
bool still_moving(uint64_t now_bytes, uint64_t& last_bytes,
                  clock_type::time_point& last_progress,
                  std::chrono::milliseconds limit) {
  auto now = clock_type::now();
  if (now_bytes != last_bytes) {
    last_bytes = now_bytes;
    last_progress = now;
  }
  return now - last_progress < limit;
}

// -- source --------------------------------------------------------------

using source_ptr = door_stateful<netcheck_source_state>*;

void fail(source_ptr self, caf::error err) {
  auto& st = self->state;
  FERRY_WARN("netcheck", "check " << st.args.check_id << " to "
                                  << st.req.dest_uri
                                  << " failed: " << error_text(err));
  release_slot(st.args.slots);
  if (st.rp.pending())
    st.rp.deliver(std::move(err));
  if (st.pump)
    self->send_exit(st.pump, caf::exit_reason::user_shutdown);
  self->quit();
}

void collect(source_ptr self) {
  auto& st = self->state;
  self->request(st.dest.sink, std::chrono::seconds{30},
                netcheck_collect{st.args.check_id})
    .then(
      [self](const netcheck_received& got) {
        auto& st = self->state;
        if (got.bytes != st.req.bytes || !got.intact)
          return fail(self, make_error(errc::io_error,
                                       "the destination received "
                                         + std::to_string(got.bytes) + " of "
                                         + std::to_string(st.req.bytes)
                                         + " bytes"
                                         + (got.intact ? ""
                                                       : ", out of order")));
        netcheck_result res;
        res.dest_uri = st.req.dest_uri;
        res.peer = st.peer_name;
        res.tls = st.args.agents_tls
                  && st.req.dest_uri.rfind("ferry+tls://", 0) == 0;
        res.bytes = got.bytes;
        res.elapsed_us = std::max<uint64_t>(st.elapsed_us, 1);
        res.mibps = static_cast<double>(got.bytes) / (1 << 20)
                    / (static_cast<double>(res.elapsed_us) / 1e6);
        pump_config defaults;
        res.chunk_bytes = defaults.chunk_bytes;
        res.window = static_cast<uint32_t>(defaults.window);
        FERRY_INFO("netcheck", "check " << st.args.check_id << ": "
                                        << got.bytes << " bytes to "
                                        << st.peer_name << " in "
                                        << res.elapsed_us / 1000 << " ms ("
                                        << res.mibps << " MiB/s), "
                                        << got.stamps_checked
                                        << " stamps checked");
        release_slot(st.args.slots);
        st.rp.deliver(std::move(res));
        self->quit();
      },
      [self](caf::error& err) { fail(self, std::move(err)); });
}

void start_transfer(source_ptr self) {
  auto& st = self->state;
  int ours = -1;
  int theirs = -1;
  if (!make_pump_socketpair(ours, theirs))
    return fail(self, make_error(errc::io_error, "cannot create a socketpair"));
  st.pump_stats = std::make_shared<pump_shared>();
  st.pump = self->spawn<caf::detached>(
    stream_pump, st.args.check_id, ours,
    caf::actor_cast<caf::actor>(st.dest.pump), caf::node_id{}, pump_config{},
    st.pump_stats);
  self->monitor(st.pump);
  st.feed_fd = theirs;
  st.started = clock_type::now();
  st.last_progress = st.started;
  st.feeder = std::thread{feed_loop, theirs, st.req.bytes};
  self->delayed_send(self, std::chrono::seconds{1}, tick_atom::value);
}

void on_down(source_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  if (st.args.manager && msg.source == st.args.manager.address())
    return fail(self, make_error(errc::disconnected,
                                 "the agent is stopping"));
  if (st.pump && msg.source == st.pump.address()) {
    st.pump = nullptr;
    if (!st.pump_stats->finished)
      return fail(self, make_error(errc::disconnected,
                                   "the tunnel to " + st.peer_name
                                     + " broke: " + error_text(msg.reason)));
    st.elapsed_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now()
                                                            - st.started)
        .count());
    return collect(self);
  }
  if (st.dest.sink && msg.source == st.dest.sink.address() && st.pump)
    fail(self, make_error(errc::disconnected,
                          "the tunnel to " + st.peer_name
                            + " broke: its receiving end went away ("
                            + (msg.reason ? error_text(msg.reason)
                                          : "the destination agent "
                                            "stopped it")
                            + ")"));
}

} // namespace

void netcheck_stamps::write(char* buf, size_t len, uint64_t offset) {
  for (size_t i = 0; i + sizeof(uint64_t) <= len; i += stamp_every) {
    uint64_t stamp = offset + i;
    std::memcpy(buf + i, &stamp, sizeof(stamp));
  }
}

void netcheck_stamps::checker::feed(const char* data, size_t len) {
  constexpr size_t width = sizeof(uint64_t);
  for (size_t i = 0; i < len;) {
    auto in_block = static_cast<size_t>(offset % stamp_every);
    if (in_block >= width) {
      // Payload up to the next stamp: skip it.
      auto skip = std::min<size_t>(stamp_every - in_block, len - i);
      i += skip;
      offset += skip;
      continue;
    }
    // (Part of) a stamp; it may continue in the next read.
    auto take = std::min(width - in_block, len - i);
    std::memcpy(partial + in_block, data + i, take);
    i += take;
    offset += take;
    if (in_block + take == width) {
      uint64_t stamp = 0;
      std::memcpy(&stamp, partial, width);
      intact = intact && stamp == offset - width;
      ++stamps;
    }
  }
}

netcheck_source_state::~netcheck_source_state() {
  release_slot(args.slots);
  stop_thread(feed_fd, feeder);
}

namespace {

/// The destination answered netcheck_prepare: both ends of the tunnel
/// must be the destination agent's.
void on_sink_ready(source_ptr self, const caf::actor& session,
                   netcheck_cookie& cookie) {
  auto& st = self->state;
  if (!cookie.sink || !cookie.pump || cookie.sink.node() != session.node()
      || cookie.pump.node() != session.node())
    return fail(self, make_error(errc::internal,
                                 "the destination offered no stream pump of "
                                 "its own"));
  st.dest = std::move(cookie);
  self->monitor(st.dest.sink);
  start_transfer(self);
}

/// A session with the destination agent: ask it for a sink.
void on_peer(source_ptr self, peer_session& peer) {
  auto& st = self->state;
  st.peer_name = peer.agent_name;
  auto session = caf::actor_cast<caf::actor>(peer.session);
  self
    ->request(peer.session, std::chrono::seconds{30},
              netcheck_prepare{st.args.check_id, st.req.bytes})
    .then([self, session](netcheck_cookie& cookie) {
            on_sink_ready(self, session, cookie);
          },
          [self](caf::error& err) { fail(self, std::move(err)); });
}

caf::result<netcheck_result> on_request(source_ptr self,
                                        netcheck_request& req) {
  auto& st = self->state;
  if (st.rp.pending())
    return make_error(errc::invalid_state, "a netcheck is already running");
  st.req = std::move(req);
  st.rp = self->make_response_promise<netcheck_result>();
  auto rp = st.rp;
  self
    ->request(st.args.peer_links, st.args.connect_timeout,
              get_peer_session{st.req.dest_uri})
    .then([self](peer_session& peer) { on_peer(self, peer); },
          [self](caf::error& err) {
            fail(self, make_error(errc::disconnected,
                                  "cannot reach " + self->state.req.dest_uri
                                    + ": " + error_text(err)));
          });
  return rp;
}

/// Every second: fail the check once no byte moved for the stall limit.
void on_tick(source_ptr self) {
  auto& st = self->state;
  if (!st.pump)
    return;
  if (!still_moving(st.pump_stats->bytes_out + st.pump_stats->bytes_in,
                    st.last_bytes, st.last_progress, st.args.stall_limit))
    return fail(self,
                make_error(errc::timeout,
                           "no byte moved through the tunnel for "
                             + std::to_string(st.args.stall_limit.count()
                                              / 1000)
                             + " s"));
  self->delayed_send(self, std::chrono::seconds{1}, tick_atom::value);
}

} // namespace

caf::behavior netcheck_source(door_stateful<netcheck_source_state>* self,
                              netcheck_args args) {
  harden(self, "netcheck");
  self->state.args = std::move(args);
  self->set_down_handler(
    [self](caf::down_msg& msg) { on_down(self, msg); });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    fail(self, make_error(errc::disconnected,
                          "the agent stopped the check: "
                            + error_text(msg.reason)));
  });
  if (self->state.args.manager)
    self->monitor(self->state.args.manager);
  return {
    [self](netcheck_request& req) { return on_request(self, req); },
    [self](tick_atom) { on_tick(self); },
  };
}

// -- sink -----------------------------------------------------------------

netcheck_sink_state::~netcheck_sink_state() {
  release_slot(slots);
  stop_thread(drain_fd, drain);
}

namespace {

using sink_ptr = door_stateful<netcheck_sink_state>*;

/// The requester's prepare: a waiting pump for its tunnel and a thread
/// that drains and checks what arrives.
caf::result<netcheck_cookie> on_sink_prepare(sink_ptr self,
                                             netcheck_prepare& req) {
  auto& st = self->state;
  if (st.pump_stats)
    return make_error(errc::invalid_state, "this sink is taken");
  if (!req.requester) {
    self->quit();
    return make_error(errc::invalid_argument, "netcheck without a source");
  }
  int ours = -1;
  int theirs = -1;
  if (!make_pump_socketpair(ours, theirs)) {
    self->quit();
    return make_error(errc::io_error, "cannot create a socketpair");
  }
  st.check_id = std::move(req.check_id);
  st.expected = req.bytes;
  // Only the checking agent's source collects the result.
  self->open_door(req.requester.node(), req.requester.id(),
                  accepted_types<netcheck_sink_remote>(self->system()),
                  false, "netcheck sink " + st.check_id);
  st.pump_stats = std::make_shared<pump_shared>();
  st.pump = spawn_waiting_pump(self, st.check_id, ours,
                               req.requester.node(), pump_config{},
                               st.pump_stats);
  self->monitor(st.pump);
  st.got = std::make_shared<netcheck_counters>();
  st.drain_fd = theirs;
  st.drain = std::thread{drain_loop, theirs, st.got};
  st.last_progress = clock_type::now();
  self->delayed_send(self, std::chrono::seconds{1}, tick_atom::value);
  FERRY_INFO("netcheck", "check " << st.check_id << ": receiving "
                                  << st.expected << " bytes");
  return netcheck_cookie{caf::actor_cast<netcheck_sink_remote>(self),
                         caf::actor_cast<pump_remote>(st.pump)};
}

/// Once a second: give up when nothing arrived (or nobody collected) for
/// the stall limit.
void on_sink_tick(sink_ptr self) {
  auto& st = self->state;
  uint64_t moved = st.got ? st.got->bytes.load() : 0;
  if (!still_moving(moved, st.last_bytes, st.last_progress,
                    st.stall_limit)) {
    FERRY_WARN("netcheck", "check " << st.check_id
                                    << ": nothing arrived or nobody "
                                       "collected for "
                                    << st.stall_limit.count() / 1000
                                    << " s; giving up");
    if (st.pump)
      self->send_exit(st.pump, caf::exit_reason::user_shutdown);
    self->quit();
    return;
  }
  self->delayed_send(self, std::chrono::seconds{1}, tick_atom::value);
}

} // namespace

caf::behavior netcheck_sink(door_stateful<netcheck_sink_state>* self,
                            caf::actor manager, netcheck_slots slots,
                            std::chrono::milliseconds stall_limit) {
  harden(self, "netcheck");
  self->state.stall_limit = stall_limit;
  self->state.slots = std::move(slots);
  // The agent stops (an exit from the job manager, or the job manager's
  // end): the pump's reader would wait for the peer forever.
  auto stop = [self] {
    if (self->state.pump)
      self->send_exit(self->state.pump, caf::exit_reason::user_shutdown);
    self->quit();
  };
  self->set_exit_handler([stop](caf::exit_msg&) { stop(); });
  if (manager)
    self->monitor(manager);
  self->set_down_handler([self, manager, stop](caf::down_msg& msg) {
    auto& st = self->state;
    if (manager && msg.source == manager.address())
      return stop();
    if (st.pump && msg.source == st.pump.address()) {
      st.pump = nullptr;
      if (!st.pump_stats->finished) {
        FERRY_WARN("netcheck", "check " << st.check_id
                                        << ": the tunnel broke: "
                                        << error_text(msg.reason));
        self->quit();
      }
    }
  });
  return {
    [self](netcheck_prepare& req) { return on_sink_prepare(self, req); },
    [self](const netcheck_collect& req) -> caf::result<netcheck_received> {
      auto& st = self->state;
      if (req.check_id != st.check_id)
        return make_error(errc::stale_message, "not this sink's check");
      if (!st.got || !st.got->done)
        return make_error(errc::invalid_state, "still receiving");
      netcheck_received out;
      out.bytes = st.got->bytes;
      out.stamps_checked = st.got->stamps;
      out.intact = st.got->intact && out.bytes == st.expected;
      release_slot(st.slots);
      self->quit();
      return out;
    },
    [self](tick_atom) { on_sink_tick(self); },
  };
}

} // namespace ferry
