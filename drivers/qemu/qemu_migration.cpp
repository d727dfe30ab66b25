#include "drivers/qemu/qemu_migration.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <unistd.h>

#include "drivers/qemu/qemu_stats.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/clock.hpp"

namespace ferry {

namespace {

constexpr const char* fd_name = "ferry-migration";

/// QMP calls wait longer than any pause QEMU may take for the switchover
/// (the main loop, which answers QMP, is blocked meanwhile).
int timeout_for(const hv_migration_params& p) {
  return qemu_process::default_timeout_ms
         + 2 * static_cast<int>(p.downtime_limit_ms);
}

std::string tcp_uri(const std::string& host, uint16_t port) {
  auto h = host.find(':') != std::string::npos && host.front() != '['
             ? "[" + host + "]"
             : host;
  return "tcp:" + h + ":" + std::to_string(port);
}

std::string mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / (1024.0 * 1024.0));
  return buf;
}

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s",
                static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

std::string rate(double mibps) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB/s", mibps);
  return buf;
}

/// Why a migration counts as stalled, for the log and a final error: what
/// is left, for how long it has not shrunk by 10%, and the two rates that
/// decide whether it can.
std::string stall_reason(const job_stats& st,
                         std::chrono::milliseconds stalled_for) {
  return mib(st.data_remaining) + " still to send with no 10% reduction in "
         + seconds(stalled_for) + " (sending " + rate(st.mibps)
         + ", guest dirtying " + rate(st.dirty_rate_mibps) + ")";
}

caf::error set_capabilities(qemu_process& proc, bool auto_converge) {
  qmp::json caps = qmp::json::array();
  caps.push_back({{"capability", "events"}, {"state", true}});
  caps.push_back({{"capability", "auto-converge"}, {"state", auto_converge}});
  auto res = proc.call("migrate-set-capabilities", {{"capabilities", caps}});
  return res ? caf::none : res.error();
}

/// Closes the target's descriptor, if any, while it is still ours: until
/// `getfd` hands it to QEMU.
void close_target_fd(const migration_target& t) {
  if (t.fd >= 0)
    ::close(t.fd);
}

/// Whether this migration uses QEMU's TLS: a native target that asks for
/// it.
bool uses_tls(const migration_target& t) {
  return t.how == migration_target::kind::native && t.tls;
}

/// `migrate-set-parameters` for `p`: always the bandwidth (QEMU's default
/// is 128 MiB/s) and the downtime limit, and the throttle steps of
/// auto-converge.
caf::error set_parameters(qemu_process& proc, const hv_migration_params& p) {
  qmp::json params{
    {"max-bandwidth", p.max_bandwidth == 0
                        ? qemu_migration::unlimited_bandwidth
                        : p.max_bandwidth},
    {"downtime-limit", p.downtime_limit_ms}};
  if (p.auto_converge) {
    // The test driver's steps: 30%, then +20% each time it stalls again.
    params["cpu-throttle-initial"] = 30;
    params["cpu-throttle-increment"] = 20;
  }
  auto res = proc.call("migrate-set-parameters", params, timeout_for(p));
  return res ? caf::none : res.error();
}

/// QEMU's TLS for this migration: on with our credentials when the target
/// asks for it (refused without them), otherwise off.
caf::error set_tls(qemu_process& proc, const migration_target& t,
                   const qemu_tls* tls) {
  bool use_tls = uses_tls(t);
  if (use_tls && tls == nullptr)
    return make_error(errc::not_secure,
                      "the destination QEMU expects TLS but this agent has "
                      "no TLS credentials for QEMU");
  // Parameters outlive a migration inside one QEMU: switch TLS off
  // explicitly, or a tunnelled retry after a TLS attempt would speak TLS.
  return use_tls ? tls->enable(proc, false, t.tls_name)
                 : qemu_tls::disable(proc);
}

/// Everything before `migrate`: capabilities, parameters, TLS, and the
/// pause of an offline migration. The target's descriptor stays ours.
caf::error prepare_outgoing(qemu_process& proc, const migration_target& t,
                            bool running, const qemu_tls* tls) {
  if (auto err = set_capabilities(proc, t.params.auto_converge))
    return err;
  if (auto err = set_parameters(proc, t.params))
    return err;
  if (auto err = set_tls(proc, t, tls))
    return err;
  if (!t.params.live && running) {
    // Offline: pause first, copy once.
    auto res = proc.call("stop", qmp::json::object(), timeout_for(t.params));
    if (!res)
      return res.error();
  }
  return caf::none;
}

/// `migrate` to the target: a TCP address, or our descriptor handed over
/// with `getfd` (and closed in QEMU again if `migrate` fails). The URI
/// QEMU migrates to.
caf::expected<std::string> migrate_to(qemu_process& proc,
                                      const migration_target& t) {
  std::string uri;
  if (t.how == migration_target::kind::fd) {
    if (auto err = proc.pass_fd(fd_name, t.fd))
      return err;
    uri = std::string{"fd:"} + fd_name;
  } else {
    uri = tcp_uri(t.address.host, t.address.port);
  }
  proc.set_incoming(false);
  auto res = proc.call("migrate", {{"uri", uri}}, timeout_for(t.params));
  if (!res) {
    if (t.how == migration_target::kind::fd)
      proc.call("closefd", {{"fdname", fd_name}});
    return res.error();
  }
  return uri;
}

bool terminal(const std::string& status) {
  return status == "completed" || status == "failed"
         || status == "cancelled";
}

} // namespace

qemu_migration::qemu_migration(hv_migration_params params)
  : params_(params),
    watch_(std::chrono::milliseconds{params.progress_timeout_ms}),
    started_ms_(unix_ms()),
    asked_downtime_ms_(params.downtime_limit_ms) {
}

caf::expected<std::unique_ptr<qemu_migration>>
qemu_migration::start_outgoing(qemu_process& proc, const migration_target& t,
                               bool running, const qemu_tls* tls) {
  if (t.how == migration_target::kind::direct) {
    close_target_fd(t);
    return make_error(errc::unsupported,
                      "QEMU has no hypervisor-managed migration of its own, "
                      "so --direct is not available for the qemu driver; "
                      "use --p2p (or --p2p --tunnelled)");
  }
  // Made before the preparation: its start time must precede the pause of
  // an offline migration, which progress reports as the downtime's start.
  std::unique_ptr<qemu_migration> mig{new qemu_migration(t.params)};
  if (auto err = prepare_outgoing(proc, t, running, tls)) {
    close_target_fd(t);
    return err;
  }
  auto uri = migrate_to(proc, t);
  if (!uri)
    return uri.error();
  FERRY_INFO("qemu", "migrating " << proc.definition().name << " to " << *uri
                                   << (uses_tls(t) ? " over QEMU's TLS (peer '"
                                                       + t.tls_name + "')"
                                                   : std::string{}));
  return mig;
}

caf::expected<incoming_endpoint>
qemu_migration::start_incoming(qemu_process& proc, const incoming_spec& spec,
                               const qemu_tls* tls) {
  proc.set_incoming(true);
  if (auto err = set_capabilities(proc, false)) {
    if (spec.fd >= 0)
      ::close(spec.fd);
    return err;
  }
  incoming_endpoint out; // QEMU takes no token: the port is the endpoint
  if (spec.how == incoming_spec::kind::fd) {
    if (auto err = proc.pass_fd(fd_name, spec.fd))
      return err;
    auto res = proc.call("migrate-incoming",
                         {{"uri", std::string{"fd:"} + fd_name}});
    if (!res)
      return res.error();
    return out;
  }
  if (spec.tls) {
    if (tls == nullptr)
      return make_error(errc::not_secure,
                        "--tls: this agent has no TLS credentials for QEMU");
    if (auto err = tls->enable(proc, true, {}))
      return err;
    out.tls = true;
    out.tls_name = tls->name();
  }
  auto host = spec.listen_host.empty() ? std::string{"127.0.0.1"}
                                       : spec.listen_host;
  auto res = proc.call("migrate-incoming",
                       {{"uri", tcp_uri(host, spec.listen_port)}});
  if (!res)
    return res.error();
  auto info = proc.call("query-migrate");
  if (!info)
    return info.error();
  auto addrs = info->value("socket-address", qmp::json::array());
  for (auto& a : addrs) {
    if (!a.is_object() || !a.contains("port"))
      continue;
    auto& p = a["port"];
    unsigned long port = 0;
    if (p.is_string())
      port = std::strtoul(p.get<std::string>().c_str(), nullptr, 10);
    else if (p.is_number_unsigned())
      port = p.get<unsigned long>();
    if (port > 0 && port < 65536) {
      out.port = static_cast<uint16_t>(port);
      return out;
    }
  }
  return make_error(errc::hypervisor_error,
                    "QEMU of domain '" + proc.definition().name
                      + "' did not report the port it listens on");
}

caf::error qemu_migration::check_incoming(qemu_process& proc, int wait_ms) {
  // The source reports `completed` once it sent everything; the destination
  // may still be loading the last device state: give it a moment.
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds{wait_ms};
  std::string status;
  qmp::json info;
  for (;;) {
    auto res = proc.call("query-migrate");
    if (!res)
      return res.error();
    info = *res;
    status = info.value("status", "none");
    if (terminal(status) || std::chrono::steady_clock::now() > deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  if (status != "completed") {
    auto desc = info.value("error-desc", "");
    return make_error(errc::migration_failed,
                      "incoming migration is '" + status + "'"
                        + (desc.empty() ? std::string{} : ": " + desc));
  }
  auto st = proc.call("query-status");
  if (!st)
    return st.error();
  auto run_state = st->value("status", "unknown");
  if (run_state != "paused")
    return make_error(errc::migration_failed,
                      "incoming domain is '" + run_state
                        + "' after the migration, not 'paused'");
  return caf::none;
}

caf::expected<job_stats> qemu_migration::progress(qemu_process& proc) {
  auto res = proc.call("query-migrate", qmp::json::object(),
                       timeout_for(params_));
  if (!res)
    return res.error();
  auto st = parse_query_migrate(*res);
  st.downtime_limit_ms = params_.downtime_limit_ms;
  auto stop = proc.last_stop_ms();
  if (stop >= started_ms_)
    st.paused_at_ms = stop;
  if (st.hv_status == "active" && stall_error_.empty())
    check_convergence(proc, st);
  if (!stall_error_.empty()
      && (st.hv_status == "cancelling" || st.hv_status == "cancelled"
          || st.hv_status == "failed"))
    st.error = stall_error_;
  return st;
}

void qemu_migration::check_convergence(qemu_process& proc,
                                       const job_stats& st) {
  auto now = convergence_watch::clock::now();
  if (!watch_.stalled(st.data_remaining, now))
    return;
  auto why = stall_reason(st, watch_.since_progress(now));
  auto in = stall_input_for(st, now);
  processed_at_stall_ = st.data_processed;
  auto step = next_stall_step(in);
  ++stall_steps_;
  switch (step.what) {
    case stall_step::kind::raise_downtime:
      if (!raise_downtime(proc, step, why))
        break; // cancel below
      watch_.restart(now);
      return;
    case stall_step::kind::throttle:
      note_throttle(proc, st, step, why);
      watch_.restart(now);
      return;
    case stall_step::kind::cancel:
      break;
  }
  give_up(proc, st, why);
}

stall_input qemu_migration::stall_input_for(
  const job_stats& st, convergence_watch::clock::time_point now) const {
  stall_input in;
  in.downtime_ms = params_.downtime_limit_ms;
  in.asked_downtime_ms = asked_downtime_ms_;
  in.auto_converge = params_.auto_converge;
  in.throttle = st.throttle;
  in.now_ms = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      now.time_since_epoch())
      .count());
  in.remaining_bytes = st.data_remaining;
  in.mibps = st.mibps;
  in.sending = st.data_processed > processed_at_stall_;
  in.throttling = throttling_;
  in.throttle_mark = throttle_mark_;
  in.rose_at_ms = rose_at_ms_;
  return in;
}

bool qemu_migration::raise_downtime(qemu_process& proc, const stall_step& step,
                                    const std::string& why) {
  const auto& name = proc.definition().name;
  auto from = params_.downtime_limit_ms;
  if (auto err = tune(proc, UINT64_MAX, step.downtime_ms)) {
    FERRY_WARN("qemu", "migration of " << name << " stalls; cannot raise "
                                       "the downtime limit: "
                                       << error_text(err));
    return false;
  }
  FERRY_INFO("qemu", "migration of "
                       << name << " stalls (" << why
                       << "); stall step " << stall_steps_
                       << ": downtime limit " << from << " -> "
                       << step.downtime_ms << " ms");
  return true;
}

void qemu_migration::note_throttle(qemu_process& proc, const job_stats& st,
                                   const stall_step& step,
                                   const std::string& why) {
  // QEMU throttles the vCPUs itself (30%, +20% per pass that dirties
  // too much); give the new throttle a full period before judging again.
  FERRY_INFO("qemu", "migration of "
                       << proc.definition().name << " stalls (" << why
                       << "); stall step " << stall_steps_
                       << ": guest throttled to " << st.throttle
                       << "% by auto-converge"
                       << (step.waiting ? " (waiting for QEMU's next pass "
                                          "to raise it)"
                                        : ""));
  throttling_ = true;
  throttle_mark_ = step.throttle_mark;
  rose_at_ms_ = step.rose_at_ms;
}

void qemu_migration::give_up(qemu_process& proc, const job_stats& st,
                             const std::string& why) {
  auto tried = std::string{params_.downtime_limit_ms > asked_downtime_ms_
                              ? "downtime limit raised to "
                              : "downtime limit of "}
               + std::to_string(params_.downtime_limit_ms) + " ms";
  if (params_.auto_converge)
    tried += " and guest throttled to " + std::to_string(st.throttle) + "%";
  stall_error_ = "migration of '" + proc.definition().name
                 + "' stopped converging: " + why + "; " + tried
                 + " did not help; "
                 + (params_.auto_converge
                      ? "raise --bandwidth or --max-downtime"
                      : "raise --bandwidth or --max-downtime, or use "
                        "--auto-converge");
  FERRY_WARN("qemu", stall_error_ << "; cancelling");
  proc.call("migrate_cancel", qmp::json::object(), timeout_for(params_));
}

caf::error qemu_migration::cancel(qemu_process& proc) {
  auto res = proc.call("migrate_cancel", qmp::json::object(),
                       timeout_for(params_));
  return res ? caf::none : res.error();
}

caf::error qemu_migration::tune(qemu_process& proc, uint64_t bandwidth,
                                uint32_t downtime_ms) {
  qmp::json args = qmp::json::object();
  if (bandwidth != UINT64_MAX) {
    params_.max_bandwidth = bandwidth;
    args["max-bandwidth"] = bandwidth == 0 ? unlimited_bandwidth : bandwidth;
  }
  if (downtime_ms != 0) {
    params_.downtime_limit_ms = downtime_ms;
    args["downtime-limit"] = downtime_ms;
  }
  if (args.empty())
    return caf::none;
  auto res = proc.call("migrate-set-parameters", args, timeout_for(params_));
  return res ? caf::none : res.error();
}

} // namespace ferry
