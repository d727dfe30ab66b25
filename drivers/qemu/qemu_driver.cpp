#include "drivers/qemu/qemu_driver.hpp"

#include <unistd.h>

#include "drivers/qemu/qemu_devices.hpp"
#include "drivers/qemu/qemu_host.hpp"
#include "drivers/qemu/qemu_stats.hpp"
#include "drivers/qemu/ram_digest.hpp"
#include "drivers/qemu/test_guest.hpp"
#include "util/crypto.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

constexpr uint64_t mib = 1024 * 1024;
constexpr uint64_t min_memory = 16 * mib;
/// How long finish waits for the incoming QEMU to finish loading after
/// the source reported `completed`.
constexpr int incoming_settle_ms = 10000;

caf::error bad(const std::string& text) {
  return make_error(errc::invalid_xml, text);
}

} // namespace

qemu_driver::qemu_driver(driver_context ctx, qemu_driver_config cfg)
  : driver(std::move(ctx)), cfg_(std::move(cfg)) {
}

qemu_driver::~qemu_driver() {
  do_close();
}

std::string qemu_driver::run_dir() const {
  return ctx_.state_dir + "/run";
}

caf::error qemu_driver::check_definition(domain_definition& def) {
  if (def.type != "qemu" && def.type != "kvm")
    return bad("the qemu driver runs <domain type='qemu'> (TCG) or 'kvm', "
               "not '" + def.type + "'");
  if (def.memory_bytes < min_memory || def.memory_bytes % mib != 0)
    return bad("QEMU guests need <memory> of at least 16 MiB in whole MiB");
  if (!def.kernel.empty()) {
    if (::access(def.kernel.c_str(), R_OK) != 0)
      return bad("kernel file '" + def.kernel
                 + "' does not exist or is not readable");
  }
  if (def.working_set_bytes > 0) {
    if (def.kernel.empty() || !test_guest::is_test_guest(def.kernel))
      return bad("<workload working-set> needs ferry's test guest as "
                 "<os><kernel> (the driver hands the window to that "
                 "kernel)");
    if (def.working_set_bytes > test_guest::max_working_set)
      return bad("<workload working-set> must be below 4 GiB for the test "
                 "guest");
  }
  if (def.dirty_rate_mibps > 0 && def.working_set_bytes == 0)
    return bad("<workload dirty-rate> paces ferry's test guest over its "
               "working set: give it a working-set too");
  return record_machine(def);
}

caf::error qemu_driver::record_machine(domain_definition& def) {
  if (!machines_) {
    auto list = list_machines(cfg_.binary);
    if (!list)
      return list.error();
    machines_ = std::move(*list);
  }
  auto versioned = machines_->resolve(def.machine, cfg_.binary);
  if (!versioned)
    return versioned.error();
  if (*versioned != def.machine)
    set_machine(def, *versioned);
  return caf::none;
}

caf::expected<std::unique_ptr<qemu_process>>
qemu_driver::launch(const domain_definition& def, bool incoming) {
  auto kvm = qemu_host::check(def);
  if (!kvm)
    return kvm.error();
  qemu_command_line cmd;
  cmd.binary = cfg_.binary;
  cmd.def = def;
  cmd.incoming = incoming;
  cmd.kvm = *kvm;
  cmd.taps = qemu_host::free_tap_names(def);
  auto taps = cmd.taps;
  auto proc = qemu_process::launch(std::move(cmd), run_dir(), ctx_.on_event);
  if (proc)
    if (auto err = qemu_host::attach_bridges(def, taps)) {
      (*proc)->terminate();
      return err;
    }
  return proc;
}

caf::expected<qemu_process*> qemu_driver::process_of(const domain_entry& dom) {
  auto i = procs_.find(dom.def.name);
  if (i == procs_.end()) {
    auto why = exit_reasons_.find(dom.def.name);
    return make_error(errc::hypervisor_error,
                      "domain '" + dom.def.name + "' has no QEMU"
                        + (why != exit_reasons_.end()
                             ? " (it exited: " + why->second + ")"
                             : std::string{}));
  }
  return i->second.get();
}

// -- opening and closing ------------------------------------------------------

caf::error qemu_driver::do_open() {
  if (auto err = files::make_dirs(run_dir()))
    return err;
  if (cfg_.tls.complete()) {
    // A copy for QEMU's fixed file names; without it only --tls fails.
    auto tls = qemu_tls::prepare(cfg_.tls, ctx_.state_dir + "/tls");
    if (tls)
      tls_ = std::move(*tls);
    else
      tls_error_ = error_text(tls.error());
    if (!tls_)
      FERRY_WARN("qemu", "--tls will be refused: " << tls_error_);
  } else {
    tls_error_ = "the agent runs with --insecure-tcp";
  }
  reattach_all();
  return caf::none;
}

caf::expected<data_path>
qemu_driver::data_path_for(const migration_flags& flags) const {
  if (flags.tls && !tls_)
    return make_error(errc::not_secure,
                      "--tls: the qemu driver has no TLS credentials for "
                      "QEMU (" + tls_error_ + ")");
  data_path out;
  out.native_tls = flags.tls && tls_;
  if (!out.native_tls)
    out.hint = tls_ ? "QEMU sends in plain TCP without --tls: add --tls, or "
                      "use --p2p --tunnelled"
                    : "QEMU's own TLS needs the agents' certificates; use "
                      "--p2p --tunnelled over ferry+tls";
  return out;
}

void qemu_driver::reattach_all() {
  for (auto& file : files::list(run_dir(), ".json")) {
    auto proc = qemu_process::reattach(run_dir() + "/" + file, ctx_.on_event);
    if (!proc) {
      FERRY_INFO("qemu", "not reattaching: " << error_text(proc.error()));
      continue;
    }
    adopt_running(std::move(*proc));
  }
}

void qemu_driver::adopt_running(std::unique_ptr<qemu_process> proc) {
  auto def = proc->definition();
  auto i = domains_.find(def.name);
  if (i != domains_.end() && i->second.def.uuid != def.uuid) {
    FERRY_ERROR("qemu", "QEMU pid " << proc->pid() << " runs '" << def.name
                                    << "' with UUID " << def.uuid
                                    << ", but the definition has another; "
                                       "leaving it alone");
    return;
  }
  auto st = proc->call("query-status");
  if (!st) {
    FERRY_WARN("qemu", error_text(st.error()));
    return;
  }
  auto status = st->value("status", "");
  if (status == "inmigrate" || proc->incoming()) {
    // An incoming domain that was never committed: not ours to run.
    FERRY_WARN("qemu", "ending the uncommitted incoming QEMU of "
                         << def.name);
    proc->terminate();
    return;
  }
  auto state = status == "running" ? domain_state::running
                                   : domain_state::paused;
  if (status == "postmigrate")
    FERRY_WARN("qemu", def.name << " was migrated away when the agent "
                                   "stopped; kept paused: resume it only if "
                                   "the destination does not run it");
  bool persistent = i != domains_.end() && i->second.persistent;
  adopt(def, persistent, state);
  procs_[def.name] = std::move(proc);
}

void qemu_driver::do_close() {
  if (closing_)
    return;
  closing_ = true;
  migrations_.clear();
  if (!procs_.empty())
    FERRY_INFO("qemu", "stopping " << procs_.size() << " QEMU guest(s)");
  for (auto& [name, proc] : procs_)
    proc->terminate();
  procs_.clear();
}

// -- lifecycle ----------------------------------------------------------------

caf::error qemu_driver::do_start(const domain_entry& dom) {
  auto proc = launch(dom.def, false);
  if (!proc)
    return proc.error();
  exit_reasons_.erase(dom.def.name);
  procs_[dom.def.name] = std::move(*proc);
  return caf::none;
}

caf::error qemu_driver::do_destroy(const domain_entry& dom) {
  migrations_.erase(dom.def.name);
  auto i = procs_.find(dom.def.name);
  if (i == procs_.end())
    return caf::none; // already gone
  i->second->terminate();
  procs_.erase(i);
  return caf::none;
}

caf::error qemu_driver::do_suspend(const domain_entry& dom) {
  auto proc = process_of(dom);
  if (!proc)
    return proc.error();
  auto res = (*proc)->call("stop");
  return res ? caf::none : res.error();
}

caf::error qemu_driver::do_resume(const domain_entry& dom) {
  sweep();
  auto proc = process_of(dom);
  if (!proc)
    return proc.error();
  auto res = (*proc)->call("cont");
  return res ? caf::none : res.error();
}

caf::expected<domain_digest> qemu_driver::do_digest(const domain_entry& dom) {
  auto proc = process_of(dom);
  if (!proc)
    return proc.error();
  bool running = dom.state == domain_state::running;
  if (running && !dom.job_id.empty())
    return make_error(errc::invalid_state,
                      "domain '" + dom.def.name + "' is migrating (job "
                        + dom.job_id
                        + "); its digest is taken when it is paused");
  return ram_digest::take(**proc, running);
}

// -- events -------------------------------------------------------------------

void qemu_driver::handle_event(const driver_event& ev) {
  if (ev.kind == "QEMU_EXIT") {
    on_qemu_exit(ev);
  } else if (ev.kind == "STOP" || ev.kind == "RESUME") {
    // QEMU pauses and resumes guests itself (migration switchover, failed
    // migration): mirror it.
    auto i = domains_.find(ev.domain);
    if (i != domains_.end() && i->second.state != domain_state::shutoff
        && procs_.count(ev.domain) != 0)
      i->second.state = ev.kind == "STOP" ? domain_state::paused
                                          : domain_state::running;
  } else if (ev.kind == "SHUTDOWN") {
    FERRY_INFO("qemu", "guest " << ev.domain << " shut down: " << ev.payload);
  }
  sweep();
}

void qemu_driver::on_qemu_exit(const driver_event& ev) {
  auto data = qmp::json::parse(ev.payload, nullptr, false);
  auto i = procs_.find(ev.domain);
  if (closing_ || !data.is_object() || i == procs_.end()
      || i->second->pid() != data.value("pid", pid_t{-1}))
    return; // a QEMU we ended ourselves, or an older one
  auto why = data.value("status", std::string{"exited"});
  auto tail = i->second->log_tail();
  if (!tail.empty())
    why += "; its last words: " + tail;
  FERRY_WARN("qemu", "QEMU of " << ev.domain << " (pid " << i->second->pid()
                                << ") exited: " << why);
  i->second->forget();
  procs_.erase(i);
  exit_reasons_[ev.domain] = why;
  auto d = domains_.find(ev.domain);
  if (d == domains_.end())
    return;
  if (d->second.job_id.empty()) {
    mark_shutoff(ev.domain);
  } else {
    // The job still holds it: finish or confirm ends the entry.
    d->second.state = domain_state::shutoff;
  }
}

void qemu_driver::sweep() {
  for (auto i = migrations_.begin(); i != migrations_.end();) {
    auto d = domains_.find(i->first);
    if (d == domains_.end() || d->second.job_id.empty())
      i = migrations_.erase(i);
    else
      ++i;
  }
  std::vector<std::string> gone;
  for (auto& [name, dom] : domains_)
    if (dom.state == domain_state::shutoff && dom.job_id.empty()
        && !dom.persistent)
      gone.push_back(name);
  for (auto& name : gone)
    domains_.erase(name);
}

} // namespace ferry

// -- migration ----------------------------------------------------------------

namespace ferry {

caf::error qemu_driver::do_migrate_start(const domain_entry& dom,
                                         const migration_target& target) {
  auto proc = process_of(dom);
  if (!proc) {
    if (target.fd >= 0)
      ::close(target.fd);
    return proc.error();
  }
  auto mig = qemu_migration::start_outgoing(
    **proc, target, dom.state == domain_state::running,
    tls_ ? &*tls_ : nullptr);
  if (!mig)
    return mig.error();
  migrations_[dom.def.name] = std::move(*mig);
  return caf::none;
}

caf::expected<job_stats>
qemu_driver::do_migrate_progress(const domain_entry& dom) {
  auto proc = process_of(dom);
  if (!proc) {
    // The QEMU is gone: to the job that is a failed migration.
    job_stats st;
    st.hv_status = "failed";
    st.error = error_text(proc.error());
    return st;
  }
  auto mig = migrations_.find(dom.def.name);
  if (mig != migrations_.end())
    return mig->second->progress(**proc);
  auto res = (*proc)->call("query-migrate");
  if (!res)
    return res.error();
  return parse_query_migrate(*res);
}

caf::error qemu_driver::do_migrate_cancel(const domain_entry& dom) {
  auto proc = procs_.find(dom.def.name);
  if (proc == procs_.end())
    return caf::none; // nothing left to cancel
  auto mig = migrations_.find(dom.def.name);
  if (mig != migrations_.end())
    return mig->second->cancel(*proc->second);
  auto res = proc->second->call("migrate_cancel");
  return res ? caf::none : res.error();
}

caf::error qemu_driver::do_migrate_tune(const domain_entry& dom,
                                        uint64_t bandwidth,
                                        uint32_t downtime_ms) {
  auto proc = process_of(dom);
  if (!proc)
    return proc.error();
  auto mig = migrations_.find(dom.def.name);
  if (mig == migrations_.end())
    return make_error(errc::invalid_state,
                      "domain '" + dom.def.name
                        + "' is not sending a migration");
  return mig->second->tune(**proc, bandwidth, downtime_ms);
}

caf::expected<incoming_endpoint>
qemu_driver::do_migrate_prepare(const domain_entry& dom,
                                const incoming_spec& spec) {
  auto proc = launch(dom.def, true);
  if (!proc) {
    if (spec.fd >= 0)
      ::close(spec.fd);
    return proc.error();
  }
  auto ep = qemu_migration::start_incoming(**proc, spec,
                                           tls_ ? &*tls_ : nullptr);
  if (!ep) {
    (*proc)->terminate();
    return ep.error();
  }
  exit_reasons_.erase(dom.def.name);
  procs_[dom.def.name] = std::move(*proc);
  return ep;
}

caf::error qemu_driver::do_check_incoming(const domain_entry& dom) {
  auto proc = process_of(dom);
  if (!proc)
    return proc.error();
  if (auto err = qemu_migration::check_incoming(**proc, incoming_settle_ms))
    return err;
  // Committed from here on: a later agent restart reattaches it.
  (*proc)->set_incoming(false);
  if (auto err = (*proc)->write_record())
    FERRY_WARN("qemu", error_text(err));
  return caf::none;
}

} // namespace ferry
