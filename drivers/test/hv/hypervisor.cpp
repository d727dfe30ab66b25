#include "drivers/test/hv/hypervisor.hpp"

#include <cstring>

#include <unistd.h>

#include "drivers/test/hv/stream_format.hpp"
#include "drivers/test/hv/command_args.hpp"
#include "drivers/test/hv/hypervisor_slot.hpp"
#include "drivers/test/hv/tls_channel.hpp"
#include "util/error.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/net.hpp"

namespace ferry::testhv {

using namespace detail;

namespace {

constexpr int incoming_accept_timeout_ms = 120000;
constexpr size_t token_size = 64; // hex of 32 random bytes

} // namespace

mig_params params_from_json(const json& args, mig_params p) {
  if (auto i = args.find("live"); i != args.end() && i->is_boolean())
    p.live = i->get<bool>();
  if (auto i = args.find("max-bandwidth"); i != args.end() && i->is_number())
    p.max_bandwidth = i->get<uint64_t>();
  if (auto i = args.find("downtime-limit"); i != args.end() && i->is_number())
    p.downtime_limit_ms = i->get<uint32_t>();
  if (auto i = args.find("progress-timeout"); i != args.end() && i->is_number())
    p.progress_timeout_ms = i->get<uint32_t>();
  if (auto i = args.find("auto-converge"); i != args.end() && i->is_boolean())
    p.auto_converge = i->get<bool>();
  return p;
}

json stats_to_json(const mig_stats& s) {
  return json{
    {"status", to_string(s.status)},
    {"total", s.total_bytes},
    {"transferred", s.transferred_bytes},
    {"remaining", s.remaining_bytes},
    {"iteration", s.iteration},
    {"dirty-pages-rate", s.dirty_pages_rate},
    {"mbps", s.mbps},
    {"expected-downtime", s.expected_downtime_ms},
    {"downtime", s.downtime_ms},
    {"total-time", s.total_time_ms},
    {"paused-at", s.paused_at_ms},
    {"throttle", s.throttle},
    {"was-running", s.was_running},
    {"error-desc", s.error},
  };
}

// -- hypervisor ---------------------------------------------------------------

hypervisor::hypervisor(std::string secret,
                       std::shared_ptr<const tls_context> tls, event_sink sink)
  : secret_(std::move(secret)), tls_(std::move(tls)), sink_(std::move(sink)) {
}

hypervisor::~hypervisor() {
  shutdown();
}

void hypervisor::shutdown() {
  std::map<std::string, slot_ptr> doomed;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    doomed.swap(slots_);
    for (auto& [name, fd] : named_fds_)
      ::close(fd);
    named_fds_.clear();
  }
  for (auto& [name, s] : doomed) {
    if (s->out)
      s->out->cancel();
    if (s->in)
      s->in->cancel();
  }
  doomed.clear();
}

void hypervisor::emit(const std::string& event, json data) {
  if (sink_)
    sink_(json{{"event", event}, {"data", std::move(data)}});
}

status_callback hypervisor::migration_events(const std::string& name,
                                             const char* direction) {
  return [this, name, direction](mig_status s) {
    emit("MIGRATION", {{"name", name},
                       {"status", to_string(s)},
                       {"direction", direction}});
  };
}

hypervisor::slot_ptr hypervisor::find(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = slots_.find(name);
  return i == slots_.end() ? nullptr : i->second;
}

hypervisor::slot_ptr hypervisor::must_find(const std::string& name) {
  auto s = find(name);
  if (!s)
    fail("DeviceNotFound", "no active domain '" + name + "'");
  return s;
}

hypervisor::slot_ptr hypervisor::must_find_idle(const std::string& name) {
  auto s = must_find(name);
  if (s->migrating())
    fail("GenericError", "domain '" + name + "' is already migrating");
  return s;
}

json hypervisor::execute(const std::string& command, const json& args,
                         std::vector<int>& fds) {
  try {
    return json{{"return", run(command, args, fds)}};
  } catch (const command_error& e) {
    return json{{"error", {{"class", e.cls}, {"desc", e.desc}}}};
  } catch (const json::exception& e) {
    return json{
      {"error", {{"class", "GenericError"},
                 {"desc", std::string{"invalid arguments: "} + e.what()}}}};
  } catch (const std::bad_alloc&) {
    return json{{"error", {{"class", "GenericError"},
                           {"desc", "out of memory for guest RAM"}}}};
  }
}

json hypervisor::run(const std::string& command, const json& args,
                     std::vector<int>& fds) {
  if (command == "qmp_capabilities")
    return json::object();
  if (command == "query-domains")
    return query_domains();
  if (command == "domain-create")
    return domain_create(args);
  if (command == "domain-destroy")
    return domain_destroy(args);
  if (command == "stop" || command == "cont") {
    auto s = must_find(str_arg(args, "name"));
    if (command == "stop") {
      s->g->pause();
      emit("STOP", {{"name", s->g->name()}});
    } else {
      if (s->in && !s->in->finished())
        fail("GenericError", "cannot resume a domain while it migrates in");
      s->g->resume();
      emit("RESUME", {{"name", s->g->name()}});
    }
    return json::object();
  }
  if (command == "query-status")
    return query_status(args);
  if (command == "domain-digest")
    return domain_digest(args);
  if (command == "domain-set-dirty-rate") {
    auto s = must_find(str_arg(args, "name"));
    s->g->set_dirty_rate(args.at("rate").get<double>());
    return json::object();
  }
  if (command == "getfd")
    return getfd(args, fds);
  if (command == "closefd") {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = named_fds_.find(str_arg(args, "fdname"));
    if (i == named_fds_.end())
      fail("GenericError", "no descriptor of that name");
    ::close(i->second);
    named_fds_.erase(i);
    return json::object();
  }
  if (command == "migrate-incoming")
    return migrate_incoming(args);
  if (command == "migrate")
    return migrate_out(args);
  if (command == "migrate-direct")
    return migrate_direct(args);
  if (command == "query-migrate")
    return query_migrate(args);
  if (command == "migrate-cancel")
    return migrate_cancel(args);
  if (command == "migrate-set-parameters")
    return migrate_set_parameters(args);
  fail("CommandNotFound", "the command " + command + " has not been found");
}

json hypervisor::query_domains() {
  json out = json::array();
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& [name, s] : slots_)
    out.push_back({{"name", name},
                   {"uuid", s->g->definition().uuid},
                   {"memory", s->g->ram_bytes()},
                   {"status", s->g->running() ? "running" : "paused"}});
  return out;
}

json hypervisor::domain_create(const json& args) {
  auto def = parse_domain_xml(str_arg(args, "xml"));
  if (!def)
    fail("GenericError", error_text(def.error()));
  if (def->type != "test")
    fail("GenericError", "the test hypervisor runs only type='test' domains");
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (slots_.count(def->name) != 0)
      fail("GenericError", "domain '" + def->name + "' is already active");
  }
  auto s = std::make_shared<slot>();
  s->g = std::make_shared<guest>(*def, bool_arg(args, "fill", true));
  if (!bool_arg(args, "paused", false))
    s->g->resume();
  std::lock_guard<std::mutex> guard{mtx_};
  if (!slots_.emplace(def->name, s).second)
    fail("GenericError", "domain '" + def->name + "' is already active");
  return json::object();
}

json hypervisor::domain_destroy(const json& args) {
  slot_ptr s;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = slots_.find(str_arg(args, "name"));
    if (i == slots_.end())
      fail("DeviceNotFound", "no active domain '" + str_arg(args, "name") + "'");
    s = i->second;
    slots_.erase(i);
  }
  if (s->out)
    s->out->cancel();
  if (s->in)
    s->in->cancel();
  return json::object();
}

json hypervisor::query_status(const json& args) {
  auto s = must_find(str_arg(args, "name"));
  std::string mig = "none";
  if (s->out)
    mig = to_string(s->out->status());
  else if (s->in)
    mig = s->in_started() ? to_string(s->in->status()) : "setup";
  return json{{"status", s->g->running() ? "running" : "paused"},
              {"running", s->g->running()},
              {"migration", mig}};
}

json hypervisor::domain_digest(const json& args) {
  auto s = must_find(str_arg(args, "name"));
  bool exact = !s->g->running();
  auto d = s->g->digest();
  return json{{"sha256", crypto::to_hex(d)}, {"exact", exact}};
}

json hypervisor::getfd(const json& args, std::vector<int>& fds) {
  auto name = str_arg(args, "fdname");
  if (fds.empty())
    fail("GenericError", "no file descriptor supplied via SCM_RIGHTS");
  int fd = fds.front();
  fds.erase(fds.begin());
  std::lock_guard<std::mutex> guard{mtx_};
  auto [i, added] = named_fds_.emplace(name, fd);
  if (!added) {
    ::close(i->second);
    i->second = fd;
  }
  return json::object();
}

int hypervisor::take_fd(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = named_fds_.find(name);
  if (i == named_fds_.end())
    fail("GenericError", "no descriptor named '" + name + "' (use getfd)");
  int fd = i->second;
  named_fds_.erase(i);
  return fd;
}

json hypervisor::migrate_incoming(const json& args) {
  auto name = str_arg(args, "name");
  auto s = must_find(name);
  if (s->g->running())
    fail("GenericError", "an incoming domain must be paused");
  if (s->migrating() || s->in)
    fail("GenericError", "domain '" + name + "' is already migrating");
  auto [kind, rest] = split_uri(str_arg(args, "uri"));
  auto io_timeout = params_from_json(args).io_timeout_ms;
  s->in = std::make_unique<incoming_migration>(s->g,
                                               migration_events(name, "in"));
  if (kind == "fd") {
    int fd = take_fd(rest);
    s->in->start(std::make_unique<fd_channel>(fd, static_cast<int>(io_timeout)));
    return json::object();
  }
  if (kind != "tcp")
    fail("GenericError", "unsupported migration transport '" + kind + "'");
  auto token = str_arg(args, "token");
  if (token.size() != token_size)
    fail("GenericError", "the migration token must be 64 hex digits");
  bool use_tls = bool_arg(args, "tls", tls_ != nullptr);
  if (use_tls && !tls_)
    fail("GenericError", "this test hypervisor has no TLS certificates (its "
                         "agent runs with --insecure-tcp)");
  auto tls = use_tls ? tls_ : nullptr;
  std::string err;
  uint16_t port = 0;
  s->listen_fd = net::tcp_listen(tcp_address(rest), &port, err);
  if (s->listen_fd < 0)
    fail("GenericError", err);
  auto* raw = s.get();
  s->acceptor = std::thread{[raw, token, io_timeout, tls] {
    // Accept until a connection presents the token; strangers are dropped.
    auto deadline = std::chrono::steady_clock::now()
                    + std::chrono::milliseconds{incoming_accept_timeout_ms};
    while (!raw->accept_cancel && std::chrono::steady_clock::now() < deadline) {
      int fd = net::accept_one(raw->listen_fd, 500, &raw->accept_cancel);
      if (fd < 0)
        continue;
      net::tune_data_socket(fd);
      std::string why;
      auto ch = open_channel(fd, tls, true, handshake_timeout_ms,
                        handshake_timeout_ms, why);
      if (!ch) {
        FERRY_WARN("testhv", "dropped a migration connection: " << why);
        continue;
      }
      std::string presented(token_size, '\0');
      if (ch->read_exact(presented.data(), presented.size())
          && crypto::equal_secret(presented, token)) {
        ch->set_timeout_ms(static_cast<int>(io_timeout));
        raw->in->start(std::move(ch));
        return;
      }
      FERRY_WARN("testhv", "dropped a connection with a wrong migration token");
    }
  }};
  return json{{"port", port}, {"tls", use_tls}};
}

json hypervisor::migrate_out(const json& args) {
  auto name = str_arg(args, "name");
  auto s = must_find_idle(name);
  auto params = params_from_json(args);
  auto [kind, rest] = split_uri(str_arg(args, "uri"));
  channel_ptr ch;
  if (kind == "fd") {
    ch = std::make_unique<fd_channel>(take_fd(rest),
                                      static_cast<int>(params.io_timeout_ms));
  } else if (kind == "tcp") {
    auto token = str_arg(args, "token");
    // The destination's listener decided in prepare; we follow it.
    bool use_tls = bool_arg(args, "tls", false);
    if (use_tls && !tls_)
      fail("GenericError", "the destination hypervisor listens with TLS but "
                           "this one has no certificates (its agent runs "
                           "with --insecure-tcp)");
    std::string err;
    int fd = net::tcp_connect(tcp_address(rest), connect_timeout_ms, err);
    if (fd < 0)
      fail("GenericError", err);
    net::tune_data_socket(fd);
    // Bounded below the agent's 10 s command timeout: this runs on the
    // control thread.
    ch = open_channel(fd, use_tls ? tls_ : nullptr, false, connect_timeout_ms,
                 static_cast<int>(params.io_timeout_ms), err);
    if (!ch)
      fail("GenericError", "cannot open the migration channel: " + err);
    if (!ch->write_all(token.data(), token.size()))
      fail("GenericError", "cannot send the migration token: " + ch->error());
  } else {
    fail("GenericError", "unsupported migration transport '" + kind + "'");
  }
  s->in.reset();
  s->out = std::make_unique<outgoing_migration>(s->g, params,
                                                migration_events(name, "out"));
  s->out->start(std::move(ch));
  return json::object();
}

json hypervisor::query_migrate(const json& args) {
  auto s = must_find(str_arg(args, "name"));
  if (s->out)
    return stats_to_json(s->out->stats());
  if (s->in) {
    auto st = s->in->stats();
    if (st.status == mig_status::none)
      st.status = mig_status::setup;
    return stats_to_json(st);
  }
  return json{{"status", "none"}};
}

json hypervisor::migrate_cancel(const json& args) {
  auto s = must_find(str_arg(args, "name"));
  s->accept_cancel = true;
  if (s->out)
    s->out->cancel();
  if (s->in)
    s->in->cancel();
  return json::object();
}

json hypervisor::migrate_set_parameters(const json& args) {
  auto s = must_find(str_arg(args, "name"));
  if (!s->out)
    fail("GenericError", "no outgoing migration of '" + s->g->name() + "'");
  s->out->set_params(params_from_json(args, s->out->current_params()));
  return json::object();
}

} // namespace ferry::testhv
