#include "drivers/test/test_driver.hpp"

#include <csignal>

#include <sys/socket.h>
#include <unistd.h>

#include "util/error.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/process.hpp"

namespace ferry {

namespace {

/// Filling RAM from the UUID runs at a few GB/s; allow for large guests.
constexpr int create_timeout_ms = 120000;
constexpr int digest_timeout_ms = 60000;

} // namespace

test_driver::test_driver(driver_context ctx, test_driver_config cfg)
  : driver(std::move(ctx)), cfg_(std::move(cfg)) {
}

test_driver::~test_driver() {
  do_close();
}

caf::error test_driver::check_definition(domain_definition& def) {
  if (def.type != "test")
    return make_error(errc::invalid_xml,
                      "the test driver runs <domain type='test'>, not '"
                        + def.type + "'");
  if (!def.kernel.empty())
    return make_error(errc::invalid_xml,
                      "the test driver does not boot kernels (<os><kernel>)");
  return caf::none;
}

caf::error test_driver::spawn_hypervisor() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return make_error(errc::io_error, "socketpair failed");
  process::spawn_request req;
  req.argv = {cfg_.binary.empty() ? process::self_dir() + "/ferry-testhv"
                                  : cfg_.binary,
              "--control-fd", "3",
              "--listen", cfg_.listen.to_string(),
              "--name", ctx_.agent_name,
              "--log-level", cfg_.log_level};
  if (!cfg_.secret_file.empty()) {
    req.argv.push_back("--secret-file");
    req.argv.push_back(cfg_.secret_file);
  }
  if (cfg_.tls.complete())
    req.argv.insert(req.argv.end(), {"--tls-cert", cfg_.tls.cert, "--tls-key",
                                     cfg_.tls.key, "--tls-ca", cfg_.tls.ca});
  req.fds = {{sv[1], 3}};
  std::string err;
  pid_ = process::spawn(req, err);
  ::close(sv[1]);
  if (pid_ < 0) {
    ::close(sv[0]);
    return make_error(errc::hypervisor_error, err);
  }
  auto on_event = [sink = ctx_.on_event](const qmp::json& ev) {
    driver_event out;
    out.kind = ev.value("event", "");
    auto data = ev.value("data", qmp::json::object());
    out.domain = data.value("name", "");
    out.payload = data.dump();
    sink(std::move(out));
  };
  auto on_close = [sink = ctx_.on_event] {
    sink(driver_event{"HYPERVISOR_LOST", "", "{}"});
  };
  auto client = qmp::client::open(sv[0], "the test hypervisor", on_event,
                                  on_close);
  if (!client) {
    process::kill_child(pid_, SIGKILL);
    return client.error();
  }
  qmp_ = std::move(*client);
  uri_ = "testhv://" + qmp_->greeting().value("listen", std::string{});
  tls_ = qmp_->greeting().value("tls", false);
  FERRY_INFO("test", "hypervisor ferry-testhv (pid "
                       << pid_ << ") at " << uri_
                       << (tls_ ? ", data over mutual TLS" : ", data in plain TCP"));
  return caf::none;
}

caf::error test_driver::do_open() {
  return spawn_hypervisor();
}

void test_driver::do_close() {
  closing_ = true;
  qmp_.reset(); // closes the control socket: the daemon exits
  if (pid_ > 0) {
    if (!process::wait_exit(pid_, 2000)) {
      process::kill_child(pid_, SIGKILL);
      process::wait_exit(pid_, 2000);
    }
    pid_ = -1;
  }
}

caf::expected<data_path>
test_driver::data_path_for(const migration_flags& flags) const {
  if (flags.tls && !tls_)
    return make_error(errc::not_secure,
                      "--tls: this agent's test hypervisor has no TLS "
                      "certificates (the agent runs with --insecure-tcp)");
  data_path out;
  out.native_tls = tls_;
  out.hypervisor_direct_tls = tls_;
  if (!tls_)
    out.hint = "the test hypervisors speak plain TCP when their agents run "
               "with --insecure-tcp";
  return out;
}

caf::error test_driver::call(const std::string& cmd,
                             const std::string& domain) {
  if (!qmp_)
    return make_error(errc::hypervisor_error,
                      "the test hypervisor is not running");
  auto res = qmp_->call(cmd, {{"name", domain}});
  return res ? caf::none : res.error();
}

caf::error test_driver::do_start(const domain_entry& dom) {
  if (!qmp_)
    return make_error(errc::hypervisor_error,
                      "the test hypervisor is not running");
  auto res = qmp_->call("domain-create",
                        {{"xml", to_xml(dom.def)}, {"fill", true}},
                        create_timeout_ms);
  return res ? caf::none : res.error();
}

caf::error test_driver::do_destroy(const domain_entry& dom) {
  return call("domain-destroy", dom.def.name);
}

caf::error test_driver::do_suspend(const domain_entry& dom) {
  return call("stop", dom.def.name);
}

caf::error test_driver::do_resume(const domain_entry& dom) {
  return call("cont", dom.def.name);
}

caf::expected<domain_digest> test_driver::do_digest(const domain_entry& dom) {
  if (!qmp_)
    return make_error(errc::hypervisor_error,
                      "the test hypervisor is not running");
  auto res = qmp_->call("domain-digest", {{"name", dom.def.name}},
                        digest_timeout_ms);
  if (!res)
    return res.error();
  domain_digest out;
  out.sha256 = res->value("sha256", "");
  out.exact = res->value("exact", false);
  return out;
}

void test_driver::handle_event(const driver_event& ev) {
  if (ev.kind == "DOMAIN_INCOMING") {
    auto data = qmp::json::parse(ev.payload, nullptr, false);
    if (data.is_object())
      on_incoming(data);
    return;
  }
  if (ev.kind != "HYPERVISOR_LOST" || closing_)
    return;
  FERRY_ERROR("test", "the test hypervisor exited; its guests are gone");
  std::vector<std::string> active;
  for (auto& [name, dom] : domains_)
    if (dom.state != domain_state::shutoff)
      active.push_back(name);
  for (auto& name : active)
    mark_shutoff(name);
  qmp_.reset();
  if (pid_ > 0)
    process::wait_exit(pid_, 1000);
  if (auto err = spawn_hypervisor())
    FERRY_ERROR("test", "cannot restart the test hypervisor: "
                          << error_text(err));
}

} // namespace ferry

// -- migration ------------------------------------------------------------------

namespace ferry {

namespace {

qmp::json params_json(const hv_migration_params& p) {
  return {{"live", p.live},
          {"max-bandwidth", p.max_bandwidth},
          {"downtime-limit", p.downtime_limit_ms},
          {"progress-timeout", p.progress_timeout_ms},
          {"auto-converge", p.auto_converge}};
}

std::string fd_name(const domain_entry& dom) {
  return "migration-" + dom.def.name;
}

} // namespace

caf::expected<qmp::json> test_driver::call_json(const std::string& cmd,
                                                qmp::json args, int timeout_ms,
                                                int fd) {
  if (!qmp_) {
    if (fd >= 0)
      ::close(fd);
    return make_error(errc::hypervisor_error,
                      "the test hypervisor is not running");
  }
  return qmp_->call(cmd, std::move(args), timeout_ms, fd);
}

caf::error test_driver::pass_fd(const std::string& name, int fd) {
  auto res = call_json("getfd", {{"fdname", name}}, 10000, fd);
  ::close(fd);
  return res ? caf::none : res.error();
}

caf::error test_driver::do_migrate_start(const domain_entry& dom,
                                         const migration_target& t) {
  auto args = params_json(t.params);
  args["name"] = dom.def.name;
  caf::expected<qmp::json> res{qmp::json{}};
  switch (t.how) {
    case migration_target::kind::native:
      args["uri"] = "tcp:" + t.address.to_string();
      args["token"] = t.token;
      args["tls"] = t.tls;
      res = call_json("migrate", args);
      break;
    case migration_target::kind::fd:
      if (auto err = pass_fd(fd_name(dom), t.fd))
        return err;
      args["uri"] = "fd:" + fd_name(dom);
      res = call_json("migrate", args);
      break;
    case migration_target::kind::direct:
      args["uri"] = t.address.to_string();
      args["xml"] = t.dest_xml;
      args["suspend"] = t.suspend;
      args["persistent"] = t.persistent;
      res = call_json("migrate-direct", args, 20000);
      break;
  }
  return res ? caf::none : res.error();
}

caf::expected<job_stats>
test_driver::do_migrate_progress(const domain_entry& dom) {
  auto res = call_json("query-migrate", {{"name", dom.def.name}});
  if (!res)
    return res.error();
  auto& j = *res;
  job_stats st;
  st.hv_status = j.value("status", "none");
  st.data_total = j.value("total", uint64_t{0});
  st.data_processed = j.value("transferred", uint64_t{0});
  st.data_remaining = j.value("remaining", uint64_t{0});
  st.iteration = j.value("iteration", uint64_t{0});
  st.mibps = j.value("mbps", 0.0);
  st.dirty_rate_mibps = static_cast<double>(
                          j.value("dirty-pages-rate", uint64_t{0}))
                        * guest_page_size / (1024.0 * 1024.0);
  st.expected_downtime_ms = j.value("expected-downtime", uint64_t{0});
  st.downtime_ms = j.value("downtime", uint64_t{0});
  st.paused_at_ms = j.value("paused-at", int64_t{0});
  st.throttle = j.value("throttle", 0u);
  st.error = j.value("error-desc", "");
  // The test hypervisor's sender completes only after the receiver
  // compared the SHA-256 of all RAM that ends the stream ('K').
  st.digest_verified = st.hv_status == "completed";
  return st;
}

caf::error test_driver::do_migrate_cancel(const domain_entry& dom) {
  auto res = call_json("migrate-cancel", {{"name", dom.def.name}});
  return res ? caf::none : res.error();
}

caf::error test_driver::do_migrate_tune(const domain_entry& dom,
                                        uint64_t bandwidth,
                                        uint32_t downtime_ms) {
  qmp::json args{{"name", dom.def.name}};
  if (bandwidth != UINT64_MAX)
    args["max-bandwidth"] = bandwidth;
  if (downtime_ms != 0)
    args["downtime-limit"] = downtime_ms;
  auto res = call_json("migrate-set-parameters", args);
  return res ? caf::none : res.error();
}

caf::expected<incoming_endpoint>
test_driver::do_migrate_prepare(const domain_entry& dom,
                                const incoming_spec& spec) {
  auto created = call_json("domain-create",
                           {{"xml", to_xml(dom.def)},
                            {"fill", false},
                            {"paused", true}},
                           120000);
  if (!created) {
    if (spec.fd >= 0)
      ::close(spec.fd);
    return created.error();
  }
  auto undo = [&](caf::error err) -> caf::expected<incoming_endpoint> {
    call_json("domain-destroy", {{"name", dom.def.name}});
    return err;
  };
  incoming_endpoint out;
  qmp::json args{{"name", dom.def.name}};
  if (spec.how == incoming_spec::kind::fd) {
    if (auto err = pass_fd(fd_name(dom), spec.fd))
      return undo(err);
    args["uri"] = "fd:" + fd_name(dom);
  } else {
    out.token = crypto::to_hex(crypto::random_bytes(32));
    args["uri"] = "tcp:" + spec.listen_host + ":"
                  + std::to_string(spec.listen_port);
    args["token"] = out.token;
    args["tls"] = spec.tls;
  }
  auto res = call_json("migrate-incoming", args);
  if (!res)
    return undo(res.error());
  out.port = res->value("port", uint16_t{0});
  out.tls = res->value("tls", false);
  return out;
}

caf::error test_driver::do_check_incoming(const domain_entry& dom) {
  auto mig = call_json("query-migrate", {{"name", dom.def.name}});
  if (!mig)
    return mig.error();
  auto status = mig->value("status", "none");
  if (status != "completed")
    return make_error(errc::migration_failed,
                      "incoming migration is '" + status + "'"
                        + (mig->value("error-desc", "").empty()
                             ? std::string{}
                             : ": " + mig->value("error-desc", "")));
  auto st = call_json("query-status", {{"name", dom.def.name}});
  if (!st)
    return st.error();
  if (st->value("running", true))
    return make_error(errc::migration_failed,
                      "incoming domain is running before the commit");
  return caf::none;
}

void test_driver::on_incoming(const qmp::json& data) {
  // A direct migration the hypervisor accepted on its own (the destination
  // agent takes no part in it; it learns of the domain here).
  auto status = data.value("status", "");
  auto xml = data.value("xml", "");
  auto def = parse_domain_xml(xml);
  if (!def) {
    FERRY_ERROR("test", "direct migration brought unreadable XML: "
                          << error_text(def.error()));
    return;
  }
  auto name = def->name;
  if (status == "active") {
    auto& dom = adopt(*def, false, domain_state::paused);
    dom.job_id = "direct";
    FERRY_INFO("test", "direct migration of " << name << " arriving");
  } else if (status == "completed") {
    auto& dom = adopt(*def, false,
                      data.value("running", false) ? domain_state::running
                                                   : domain_state::paused);
    dom.job_id.clear();
    if (data.value("persistent", false)) {
      dom.persistent = true;
      if (auto err = persist(dom))
        FERRY_WARN("test", error_text(err));
    }
    FERRY_INFO("test", "direct migration of " << name << " arrived ("
                                              << to_string(dom.state) << ")");
  } else if (status == "unknown") {
    auto& dom = adopt(*def, false, domain_state::paused);
    dom.job_id.clear();
    FERRY_WARN("test", "direct migration of "
                         << name
                         << ": outcome unknown, kept paused here; resume it "
                            "only if the source no longer runs it");
  } else {
    auto i = domains_.find(name);
    if (i != domains_.end() && i->second.job_id == "direct") {
      i->second.job_id.clear();
      mark_shutoff(name);
    }
    FERRY_INFO("test", "direct migration of " << name << " failed: "
                                              << data.value("error-desc", ""));
  }
}

} // namespace ferry
