#include "drivers/qmp/qmp_client.hpp"

#include <chrono>

#include <unistd.h>

#include "util/error.hpp"
#include "util/log.hpp"

namespace ferry::qmp {

client::client(int fd, std::string what, event_handler on_event,
               close_handler on_close)
  : sock_(fd),
    what_(std::move(what)),
    on_event_(std::move(on_event)),
    on_close_(std::move(on_close)) {
}

client::~client() {
  close();
  if (reader_.joinable())
    reader_.join();
}

caf::expected<std::unique_ptr<client>>
client::open(int fd, std::string what, event_handler on_event,
             close_handler on_close, int timeout_ms) {
  std::unique_ptr<client> c{
    new client(fd, std::move(what), std::move(on_event), std::move(on_close))};
  c->reader_ = std::thread{[raw = c.get()] { raw->read_loop(); }};
  {
    std::unique_lock<std::mutex> guard{c->mtx_};
    c->cv_.wait_for(guard, std::chrono::milliseconds{timeout_ms}, [&] {
      return c->greeted_ || !c->alive_ || !c->greeting_error_.empty();
    });
    if (!c->greeting_error_.empty())
      return make_error(errc::hypervisor_error,
                        c->what_ + " failed to start: " + c->greeting_error_);
    if (!c->greeted_)
      return make_error(errc::hypervisor_error,
                        c->what_ + (c->alive_ ? " did not send a QMP greeting"
                                              : " exited during start"));
  }
  auto caps = c->call("qmp_capabilities", json::object(), timeout_ms);
  if (!caps)
    return caps.error();
  return c;
}

bool client::alive() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return alive_;
}

void client::close() {
  sock_.shutdown();
}

void client::read_loop() {
  std::string line;
  std::vector<int> fds;
  while (sock_.read_line(line, fds)) {
    for (int fd : fds)
      ::close(fd);
    fds.clear();
    auto msg = json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) {
      FERRY_WARN("qmp", what_ << " sent a line that is not JSON");
      continue;
    }
    if (msg.contains("QMP")) {
      std::lock_guard<std::mutex> guard{mtx_};
      greeting_ = msg["QMP"];
      greeted_ = true;
      cv_.notify_all();
    } else if (msg.contains("event")) {
      if (on_event_)
        on_event_(msg);
    } else if (!greeted_ && msg.contains("error") && !msg.contains("id")) {
      // A peer that cannot start says why instead of greeting.
      std::lock_guard<std::mutex> guard{mtx_};
      auto& e = msg["error"];
      greeting_error_ = e.is_object() && e.contains("desc")
                          ? e["desc"].dump()
                          : msg.dump();
      if (e.is_object() && e.contains("desc") && e["desc"].is_string())
        greeting_error_ = e["desc"].get<std::string>();
      cv_.notify_all();
    } else if (msg.contains("id") && msg["id"].is_number_unsigned()) {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = pending_.find(msg["id"].get<uint64_t>());
      if (i != pending_.end()) {
        i->second->reply = std::move(msg);
        i->second->done = true;
        pending_.erase(i);
        cv_.notify_all();
      }
    }
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    alive_ = false;
    pending_.clear();
    cv_.notify_all();
  }
  if (on_close_)
    on_close_();
}

caf::expected<json> client::call(const std::string& command, json args,
                                 int timeout_ms, int fd) {
  auto p = std::make_shared<pending>();
  uint64_t id;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!alive_)
      return make_error(errc::hypervisor_error,
                        "lost the connection to " + what_);
    id = next_id_++;
    pending_.emplace(id, p);
  }
  json req{{"execute", command}, {"id", id}};
  if (!args.is_null() && !args.empty())
    req["arguments"] = std::move(args);
  if (!sock_.write_line(req.dump(), fd)) {
    std::lock_guard<std::mutex> guard{mtx_};
    pending_.erase(id);
    return make_error(errc::hypervisor_error,
                      "cannot send '" + command + "' to " + what_);
  }
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_for(guard, std::chrono::milliseconds{timeout_ms},
               [&] { return p->done || !alive_; });
  if (!p->done) {
    pending_.erase(id);
    if (!alive_)
      return make_error(errc::hypervisor_error,
                        what_ + " went away during '" + command + "'");
    return make_error(errc::timeout, what_ + " did not answer '" + command
                                       + "' within "
                                       + std::to_string(timeout_ms) + " ms");
  }
  auto& reply = p->reply;
  if (reply.contains("error")) {
    auto& e = reply["error"];
    auto desc = e.is_object() && e.contains("desc") && e["desc"].is_string()
                  ? e["desc"].get<std::string>()
                  : std::string{"unknown error"};
    return make_error(errc::hypervisor_error, what_ + ": " + desc);
  }
  if (!reply.contains("return"))
    return make_error(errc::hypervisor_error,
                      what_ + " sent a reply without 'return'");
  return reply["return"];
}

} // namespace ferry::qmp
