#include "tools/harness/delay_line.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::harness {

namespace {

constexpr uint32_t queue_maxlen = 65536;
constexpr int socket_buffer = 16 * 1024 * 1024;

/// Opens a netfilter netlink socket inside namespace `ns`. A socket belongs
/// to the namespace it was created in, so a short-lived thread enters the
/// namespace (setns changes only the calling thread) and creates it there.
int netlink_in_netns(const std::string& ns, std::string& err) {
  int fd = -1;
  std::thread{[&] {
    int nsfd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      err = "no namespace " + ns + ": " + std::strerror(errno);
      return;
    }
    if (::setns(nsfd, CLONE_NEWNET) != 0) {
      err = "cannot enter namespace " + ns + ": " + std::strerror(errno);
      ::close(nsfd);
      return;
    }
    ::close(nsfd);
    fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0)
      err = std::string{"cannot open a netfilter socket: "}
            + std::strerror(errno);
  }}.join();
  return fd;
}

/// Appends one netlink attribute (header, payload, padding) to `buf`.
void put_attr(std::vector<char>& buf, uint16_t type, const void* data,
              size_t len) {
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  auto at = buf.size();
  buf.resize(at + NLA_ALIGN(NLA_HDRLEN + len), 0);
  std::memcpy(buf.data() + at, &a, sizeof(a));
  std::memcpy(buf.data() + at + NLA_HDRLEN, data, len);
}

/// A queue subsystem message of `type` for `queue` with `attrs` (already
/// encoded by put_attr).
std::vector<char> queue_msg(uint16_t type, uint16_t queue, uint16_t flags,
                            const std::vector<char>& attrs) {
  constexpr size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  std::vector<char> buf(head + attrs.size(), 0);
  nfgenmsg g{};
  g.nfgen_family = AF_UNSPEC;
  g.version = NFNETLINK_V0;
  g.res_id = htons(queue);
  std::memcpy(buf.data() + NLMSG_HDRLEN, &g, sizeof(g));
  if (!attrs.empty())
    std::memcpy(buf.data() + head, attrs.data(), attrs.size());
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(buf.size());
  h.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_QUEUE << 8) | type);
  h.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  std::memcpy(buf.data(), &h, sizeof(h));
  return buf;
}

/// Sends a config message and waits for the kernel's acknowledgement.
std::string configure(int fd, uint16_t queue, const std::vector<char>& attrs) {
  auto msg = queue_msg(NFQNL_MSG_CONFIG, queue, NLM_F_ACK, attrs);
  if (::send(fd, msg.data(), msg.size(), 0) < 0)
    return std::string{"netlink send: "} + std::strerror(errno);
  char buf[4096];
  auto n = ::recv(fd, buf, sizeof(buf), 0);
  if (n < 0)
    return std::string{"netlink recv: "} + std::strerror(errno);
  auto* h = reinterpret_cast<nlmsghdr*>(buf);
  if (NLMSG_OK(h, static_cast<size_t>(n)) && h->nlmsg_type == NLMSG_ERROR) {
    auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
    if (e->error != 0)
      return std::string{"NFQUEUE: "} + std::strerror(-e->error);
  }
  return "";
}

/// Binds `fd` to `queue`: metadata only, GSO packets whole, a long queue
/// (a packet beyond it is dropped, which TCP would recover from, slowly).
std::string bind_queue(int fd, uint16_t queue) {
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return std::string{"netlink bind: "} + std::strerror(errno);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &socket_buffer,
               sizeof(socket_buffer));
  // Without this a full buffer loses packet ids; the batch verdicts below
  // accept lost ids too, so overruns are harmless.
  int one = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
  std::vector<char> attrs;
  nfqnl_msg_config_cmd cmd{};
  cmd.command = NFQNL_CFG_CMD_BIND;
  cmd.pf = htons(AF_INET);
  put_attr(attrs, NFQA_CFG_CMD, &cmd, sizeof(cmd));
  if (auto err = configure(fd, queue, attrs); !err.empty())
    return err;
  attrs.clear();
  nfqnl_msg_config_params params{};
  params.copy_range = htonl(0);
  params.copy_mode = NFQNL_COPY_META;
  put_attr(attrs, NFQA_CFG_PARAMS, &params, sizeof(params));
  uint32_t maxlen = htonl(queue_maxlen);
  put_attr(attrs, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen));
  uint32_t flags = htonl(NFQA_CFG_F_GSO);
  put_attr(attrs, NFQA_CFG_FLAGS, &flags, sizeof(flags));
  put_attr(attrs, NFQA_CFG_MASK, &flags, sizeof(flags));
  if (auto err = configure(fd, queue, attrs); !err.empty())
    return err;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return "";
}

} // namespace

delay_line::delay_line() : thread_([this] { loop(); }) {
}

delay_line::~delay_line() {
  stop_ = true;
  thread_.join();
  // Closing a queue's socket drops what it still holds: the namespaces go
  // away with it.
  for (auto& [key, q] : queues_)
    ::close(q.fd);
}

std::string delay_line::set(const std::string& ns, uint16_t queue,
                            std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto key = std::make_pair(ns, queue);
  auto i = queues_.find(key);
  if (i == queues_.end()) {
    std::string err;
    int fd = netlink_in_netns(ns, err);
    if (fd < 0)
      return err;
    err = bind_queue(fd, queue);
    if (!err.empty()) {
      ::close(fd);
      return err;
    }
    queue_state q;
    q.fd = fd;
    q.queue = queue;
    i = queues_.emplace(key, std::move(q)).first;
  }
  i->second.delay_ms = delay.count();
  return "";
}

void delay_line::receive(queue_state& q, clock_type::time_point now) {
  alignas(nlmsghdr) char buf[65536];
  for (;;) {
    auto n = ::recv(q.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0)
      return;
    auto len = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len);
         h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
        continue;
      auto* at = static_cast<char*>(NLMSG_DATA(h))
                 + NLMSG_ALIGN(sizeof(nfgenmsg));
      auto* end = reinterpret_cast<char*>(h) + h->nlmsg_len;
      while (at + NLA_HDRLEN <= end) {
        auto* a = reinterpret_cast<nlattr*>(at);
        if (a->nla_len < NLA_HDRLEN || at + a->nla_len > end)
          break;
        if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
          nfqnl_msg_packet_hdr ph{};
          std::memcpy(&ph, at + NLA_HDRLEN, sizeof(ph));
          // Constant delay keeps the queue in order; after a change the
          // later packets still wait for the earlier ones (no reordering).
          auto due = now + std::chrono::milliseconds{q.delay_ms};
          if (due < q.last_due)
            due = q.last_due;
          q.last_due = due;
          q.held.emplace_back(ntohl(ph.packet_id), due);
          break;
        }
        at += NLA_ALIGN(a->nla_len);
      }
    }
  }
}

void delay_line::release(queue_state& q, clock_type::time_point now) {
  bool any = false;
  uint32_t last = 0;
  while (!q.held.empty() && q.held.front().second <= now) {
    last = q.held.front().first;
    q.held.pop_front();
    any = true;
  }
  if (!any)
    return;
  // One batch verdict accepts every packet of the queue up to `last`.
  std::vector<char> attrs;
  nfqnl_msg_verdict_hdr v{};
  v.verdict = htonl(NF_ACCEPT);
  v.id = htonl(last);
  put_attr(attrs, NFQA_VERDICT_HDR, &v, sizeof(v));
  auto msg = queue_msg(NFQNL_MSG_VERDICT_BATCH, q.queue, 0, attrs);
  ::send(q.fd, msg.data(), msg.size(), 0);
}

void delay_line::loop() {
  while (!stop_) {
    std::vector<pollfd> fds;
    int timeout = 5;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& [key, q] : queues_)
        fds.push_back({q.fd, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), timeout);
    auto now = clock_type::now();
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [key, q] : queues_) {
      receive(q, now);
      release(q, now);
    }
  }
}

} // namespace ferry::harness
