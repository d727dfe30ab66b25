#include "drivers/test/hv/hypervisor.hpp"

#include <cstring>

#include <unistd.h>

#include "drivers/test/hv/stream_format.hpp"
#include "messages/error.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/net.hpp"

namespace ferry::testhv {

namespace {

constexpr const char* direct_context = "ferry-testhv-direct:";
constexpr int connect_timeout_ms = 5000;
constexpr int handshake_timeout_ms = 10000;
constexpr int incoming_accept_timeout_ms = 120000;
constexpr size_t token_size = 64; // hex of 32 random bytes

[[noreturn]] void fail(std::string cls, std::string desc) {
  throw command_error{std::move(cls), std::move(desc)};
}

std::string str_arg(const json& args, const char* key) {
  auto i = args.find(key);
  if (i == args.end() || !i->is_string())
    fail("GenericError", std::string{"missing string argument '"} + key + "'");
  return i->get<std::string>();
}

bool bool_arg(const json& args, const char* key, bool fallback) {
  auto i = args.find(key);
  return i != args.end() && i->is_boolean() ? i->get<bool>() : fallback;
}

/// Splits `tcp:HOST:PORT` / `fd:NAME`.
std::pair<std::string, std::string> split_uri(const std::string& uri) {
  auto colon = uri.find(':');
  if (colon == std::string::npos)
    fail("GenericError", "invalid migration URI '" + uri + "'");
  return {uri.substr(0, colon), uri.substr(colon + 1)};
}

host_port tcp_address(const std::string& rest) {
  auto hp = parse_host_port(rest);
  if (!hp) {
    // Port 0 is valid here: "any free port".
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.substr(colon + 1) == "0")
      return host_port{rest.substr(0, colon), 0};
    fail("GenericError", "invalid address '" + rest + "'");
  }
  return *hp;
}

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

// -- slot ---------------------------------------------------------------------

/// One guest and whatever migration involves it.
struct hypervisor::slot {
  guest_ptr g;
  std::unique_ptr<outgoing_migration> out;
  std::unique_ptr<incoming_migration> in;
  int listen_fd = -1;
  std::atomic<bool> accept_cancel{false};
  std::thread acceptor;

  ~slot() {
    accept_cancel = true;
    if (acceptor.joinable())
      acceptor.join();
    if (listen_fd >= 0)
      ::close(listen_fd);
    out.reset();
    in.reset();
  }

  bool migrating() const {
    return (out && !out->finished()) || (in && !in->finished())
           || (acceptor.joinable() && !in_started());
  }

  bool in_started() const {
    return in && in->status() != mig_status::none;
  }
};

// -- hypervisor ---------------------------------------------------------------

hypervisor::hypervisor(std::string secret, event_sink sink)
  : secret_(std::move(secret)), sink_(std::move(sink)) {
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
  std::string err;
  uint16_t port = 0;
  s->listen_fd = net::tcp_listen(tcp_address(rest), &port, err);
  if (s->listen_fd < 0)
    fail("GenericError", err);
  auto* raw = s.get();
  s->acceptor = std::thread{[raw, token, io_timeout] {
    // Accept until a connection presents the token; strangers are dropped.
    auto deadline = std::chrono::steady_clock::now()
                    + std::chrono::milliseconds{incoming_accept_timeout_ms};
    while (!raw->accept_cancel && std::chrono::steady_clock::now() < deadline) {
      int fd = net::accept_one(raw->listen_fd, 500, &raw->accept_cancel);
      if (fd < 0)
        continue;
      net::tune_data_socket(fd);
      auto ch = std::make_unique<fd_channel>(fd, handshake_timeout_ms);
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
  return json{{"port", port}};
}

json hypervisor::migrate_out(const json& args) {
  auto name = str_arg(args, "name");
  auto s = must_find(name);
  if (s->migrating())
    fail("GenericError", "domain '" + name + "' is already migrating");
  auto params = params_from_json(args);
  auto [kind, rest] = split_uri(str_arg(args, "uri"));
  channel_ptr ch;
  if (kind == "fd") {
    ch = std::make_unique<fd_channel>(take_fd(rest),
                                      static_cast<int>(params.io_timeout_ms));
  } else if (kind == "tcp") {
    auto token = str_arg(args, "token");
    std::string err;
    int fd = net::tcp_connect(tcp_address(rest), connect_timeout_ms, err);
    if (fd < 0)
      fail("GenericError", err);
    net::tune_data_socket(fd);
    ch = std::make_unique<fd_channel>(fd, static_cast<int>(params.io_timeout_ms));
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

json hypervisor::migrate_direct(const json& args) {
  auto name = str_arg(args, "name");
  auto s = must_find(name);
  if (s->migrating())
    fail("GenericError", "domain '" + name + "' is already migrating");
  auto params = params_from_json(args);
  auto target = parse_host_port(str_arg(args, "uri"));
  if (!target)
    fail("GenericError", error_text(target.error()));
  std::string err;
  int fd = net::tcp_connect(*target, connect_timeout_ms, err);
  if (fd < 0)
    fail("GenericError", "cannot reach the destination hypervisor: " + err);
  net::tune_data_socket(fd);
  auto ch = std::make_unique<fd_channel>(fd, handshake_timeout_ms);
  char nonce[32];
  if (!ch->read_exact(nonce, sizeof(nonce)))
    fail("GenericError", "destination hypervisor handshake: " + ch->error());
  auto mac = crypto::hmac_sha256(secret_, direct_context
                                            + std::string(nonce, sizeof(nonce)));
  char verdict = 0;
  if (!ch->write_all(mac.data(), mac.size()) || !ch->read_exact(&verdict, 1)
      || verdict != 'A')
    fail("AuthenticationFailed",
         "the destination hypervisor refused our shared secret");
  auto offer = json{{"xml", str_arg(args, "xml")},
                    {"suspend", bool_arg(args, "suspend", false)},
                    {"persistent", bool_arg(args, "persistent", false)}}
                 .dump();
  char len[4];
  stream::put_u32(len, static_cast<uint32_t>(offer.size()));
  if (!ch->write_all(len, 4) || !ch->write_all(offer.data(), offer.size())
      || !ch->read_exact(len, 4))
    fail("GenericError", "destination hypervisor handshake: " + ch->error());
  auto answer_len = stream::get_u32(len);
  if (answer_len > 65536)
    fail("GenericError", "destination hypervisor sent an oversized answer");
  std::string answer(answer_len, '\0');
  if (!ch->read_exact(answer.data(), answer.size()))
    fail("GenericError", "destination hypervisor handshake: " + ch->error());
  auto reply = json::parse(answer, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    fail("GenericError", "destination hypervisor sent garbage");
  if (reply.contains("error"))
    fail("GenericError", "destination hypervisor: "
                           + reply["error"].get<std::string>());
  ch->set_timeout_ms(static_cast<int>(params.io_timeout_ms));
  s->in.reset();
  s->out = std::make_unique<outgoing_migration>(s->g, params,
                                                migration_events(name, "out"));
  s->out->start(std::move(ch), true);
  return json::object();
}

void hypervisor::serve_direct(int fd) {
  auto ch = std::make_unique<fd_channel>(fd, handshake_timeout_ms);
  auto nonce = crypto::random_bytes(32);
  std::string mac(32, '\0');
  if (!ch->write_all(nonce.data(), nonce.size())
      || !ch->read_exact(mac.data(), mac.size()))
    return;
  auto expected = crypto::hmac_sha256(secret_, direct_context + nonce);
  if (secret_.empty() || !crypto::equal_secret(mac, expected)) {
    FERRY_WARN("testhv", "refused a direct migration: bad shared secret");
    char no = 'N';
    ch->write_all(&no, 1);
    return;
  }
  char len[4];
  char yes = 'A';
  if (!ch->write_all(&yes, 1) || !ch->read_exact(len, 4))
    return;
  auto offer_len = stream::get_u32(len);
  if (offer_len > 1024 * 1024)
    return;
  std::string offer(offer_len, '\0');
  if (!ch->read_exact(offer.data(), offer.size()))
    return;
  auto answer = [&](const json& j) {
    auto text = j.dump();
    stream::put_u32(len, static_cast<uint32_t>(text.size()));
    return ch->write_all(len, 4) && ch->write_all(text.data(), text.size());
  };
  auto req = json::parse(offer, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("xml")
      || !req["xml"].is_string()) {
    answer({{"error", "malformed offer"}});
    return;
  }
  auto xml = req["xml"].get<std::string>();
  bool suspend = req.value("suspend", false);
  bool persistent = req.value("persistent", false);
  auto def = parse_domain_xml(xml);
  if (!def) {
    answer({{"error", error_text(def.error())}});
    return;
  }
  auto s = std::make_shared<slot>();
  try {
    s->g = std::make_shared<guest>(*def, false);
  } catch (const std::bad_alloc&) {
    answer({{"error", "out of memory for guest RAM"}});
    return;
  }
  s->in = std::make_unique<incoming_migration>(
    s->g, migration_events(def->name, "in"));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!slots_.emplace(def->name, s).second) {
      answer({{"error", "domain '" + def->name + "' is already active here"}});
      return;
    }
  }
  if (!answer({{"ok", true}})) {
    std::lock_guard<std::mutex> guard{mtx_};
    slots_.erase(def->name);
    return;
  }
  emit("DOMAIN_INCOMING", {{"name", def->name}, {"xml", xml},
                           {"status", "active"}});
  ch->set_timeout_ms(30000);
  s->in->start(std::move(ch), true);
  s->in->join();
  auto st = s->in->stats();
  if (st.status == mig_status::completed) {
    if (!suspend)
      s->g->resume();
    emit("DOMAIN_INCOMING", {{"name", def->name}, {"xml", xml},
                             {"status", "completed"},
                             {"running", !suspend},
                             {"persistent", persistent}});
    return;
  }
  bool unknown = st.error.rfind("outcome unknown", 0) == 0;
  if (!unknown) {
    std::lock_guard<std::mutex> guard{mtx_};
    slots_.erase(def->name);
  }
  emit("DOMAIN_INCOMING", {{"name", def->name}, {"xml", xml},
                           {"status", unknown ? "unknown" : "failed"},
                           {"error-desc", st.error}});
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
