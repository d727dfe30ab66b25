#include "drivers/test/test_driver.hpp"

#include <csignal>

#include <sys/socket.h>
#include <unistd.h>

#include "messages/error.hpp"
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

caf::error test_driver::check_definition(const domain_definition& def) const {
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
  FERRY_INFO("test", "hypervisor ferry-testhv (pid " << pid_ << ") at "
                                                      << uri_);
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
