// Migration verbs: migrate, domjobinfo, domjobabort, migrate-setmaxdowntime,
// migrate-setspeed.

#include <chrono>
#include <cstdio>
#include <future>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "migration/job_history.hpp"
#include "migration/coordinator.hpp"
#include "messages/all.hpp"
#include "migration/rules.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"

namespace po = boost::program_options;

namespace ferry::cli {

namespace {

nlohmann::json to_json(const job_stats& s) {
  return {{"job", s.job_id},
          {"domain", s.domain},
          {"mode", s.mode},
          {"role", s.role},
          {"phase", to_string(s.phase)},
          {"hypervisor_status", s.hv_status},
          {"elapsed_ms", s.elapsed_ms},
          {"data_total", s.data_total},
          {"data_processed", s.data_processed},
          {"data_remaining", s.data_remaining},
          {"mibps", s.mibps},
          {"dirty_rate_mibps", s.dirty_rate_mibps},
          {"iteration", s.iteration},
          {"expected_downtime_ms", s.expected_downtime_ms},
          {"downtime_ms", s.downtime_ms},
          {"throttle_percent", s.throttle},
          {"downtime_limit_ms", s.downtime_limit_ms},
          {"pump_bytes", s.pump_bytes},
          {"error", s.error}};
}

nlohmann::json to_json(const migration_result& r) {
  return {{"job", r.job_id},           {"domain", r.domain},
          {"mode", r.mode},            {"digest_verified", r.digest_verified},
          {"total_ms", r.total_ms},    {"downtime_ms", r.downtime_ms},
          {"bytes", r.bytes},          {"mibps", r.mibps},
          {"warning", r.warning},
          {"phases_ms",
           {{"connect", r.phases.connect}, {"begin", r.phases.begin},
            {"prepare", r.phases.prepare}, {"perform", r.phases.perform},
            {"finish", r.phases.finish}, {"confirm", r.phases.confirm}}}};
}

/// `domjobinfo`: one "Key: value" line per figure. A finished job
/// (`--completed`) shows its total time, its downtime and how it ended.
void print_jobinfo(std::ostream& out, const job_stats& s, bool completed) {
  auto line = [&](const char* key, const std::string& value) {
    out << std::left << std::setw(20) << key << value << "\n";
  };
  char buf[64];
  line("Job id:", s.job_id);
  line("Domain:", s.domain);
  line("Mode:", s.mode);
  line("Role:", s.role);
  line("Phase:", to_string(s.phase));
  if (completed)
    line("Result:", s.phase == mig_phase::done ? "completed" : "failed");
  if (!s.hv_status.empty())
    line("Hypervisor status:", s.hv_status);
  line(completed ? "Time total:" : "Time elapsed:",
       std::to_string(s.elapsed_ms) + " ms");
  line("Data total:", format_bytes(s.data_total));
  line("Data processed:", format_bytes(s.data_processed));
  line("Data remaining:", format_bytes(s.data_remaining));
  std::snprintf(buf, sizeof(buf), "%.1f MiB/s", s.mibps);
  line("Memory bandwidth:", buf);
  std::snprintf(buf, sizeof(buf), "%.1f MiB/s", s.dirty_rate_mibps);
  line("Dirty rate:", buf);
  line("Iteration:", std::to_string(s.iteration));
  if (!completed)
    line("Expected downtime:",
         std::to_string(s.expected_downtime_ms) + " ms");
  if (completed || s.downtime_ms > 0)
    line("Downtime:", std::to_string(s.downtime_ms) + " ms");
  if (s.downtime_limit_ms > 0)
    line("Downtime limit:", std::to_string(s.downtime_limit_ms) + " ms");
  if (s.throttle > 0)
    line("Throttle:", std::to_string(s.throttle) + " %");
  if (s.pump_bytes > 0)
    line("Tunnelled bytes:", format_bytes(s.pump_bytes));
  if (!s.error.empty())
    line("Error:", s.error);
}

/// Renders progress while a migration runs, on stderr (stdout is for the
/// result, e.g. the --json object): a bar redrawn in place on a terminal, a
/// plain line per second when piped.
class progress_printer {
public:
  progress_printer() : out_(std::cerr), tty_(::isatty(STDERR_FILENO) == 1) {
  }

  void show(const job_stats& s) {
    auto now = std::chrono::steady_clock::now();
    if (!tty_ && now - last_ < std::chrono::seconds{1})
      return;
    last_ = now;
    double pct = 0;
    if (s.data_total > 0) {
      auto done = s.data_total > s.data_remaining
                    ? s.data_total - s.data_remaining
                    : 0;
      pct = 100.0 * static_cast<double>(done)
            / static_cast<double>(s.data_total);
    }
    if (s.phase != mig_phase::perform)
      pct = s.phase > mig_phase::perform ? 100 : 0;
    char text[200];
    std::snprintf(text, sizeof(text),
                  "Migration: %-8s [%3.0f %%] %7.1f MiB/s  dirty %.1f "
                  "MiB/s  pass %llu  remaining %s",
                  to_string(s.phase), pct, s.mibps, s.dirty_rate_mibps,
                  static_cast<unsigned long long>(s.iteration),
                  format_bytes(s.data_remaining).c_str());
    if (tty_) {
      int width = 20;
      int filled = static_cast<int>(pct / 100 * width);
      out_ << "\r[" << std::string(filled, '#')
           << std::string(width - filled, ' ') << "] " << text << "   "
           << std::flush;
      drawn_ = true;
    } else {
      out_ << text << "\n" << std::flush;
    }
  }

  void end() {
    if (tty_ && drawn_)
      out_ << "\n";
  }

private:
  std::ostream& out_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// Waits for `fut` while polling the source agent's job for progress.
template <class T>
caf::expected<T> wait_with_progress(context& ctx, std::future<caf::expected<T>>& fut,
                                    const agent_link& source,
                                    const std::string& domain, bool verbose) {
  progress_printer printer;
  while (fut.wait_for(std::chrono::milliseconds{250})
         != std::future_status::ready) {
    if (!verbose)
      continue;
    auto st = rpc::call<job_stats>(ctx.system(), source.session,
                                   job_control{job_verb::info, domain, 0, {}},
                                   std::chrono::seconds{5});
    if (st)
      printer.show(*st);
  }
  if (verbose)
    printer.end();
  return fut.get();
}

caf::error migrate_cmd(context& ctx, const std::vector<std::string>& words) {
  po::options_description desc;
  // clang-format off
  desc.add_options()
    ("live", po::bool_switch(), "migrate while the guest runs (pre-copy)")
    ("p2p", po::bool_switch(), "the source agent runs the migration")
    ("tunnelled", po::bool_switch(), "data through the agents (needs --p2p)")
    ("direct", po::bool_switch(), "hypervisor-managed (DESTURI = testhv://)")
    ("persistent", po::bool_switch(), "define the domain on the destination")
    ("undefinesource", po::bool_switch(), "undefine it on the source")
    ("suspend", po::bool_switch(), "leave it paused on the destination")
    ("auto-converge", po::bool_switch(), "throttle the guest if it stalls")
    ("secure", po::bool_switch(), "refuse an unencrypted data path")
    ("tls", po::bool_switch(), "hypervisors connect over TLS (not tunnelled)")
    ("verbose", po::bool_switch(), "show progress")
    ("dname", po::value<std::string>(), "new name on the destination")
    ("listen-address", po::value<std::string>(),
     "address the destination hypervisor listens on (native)")
    ("bandwidth", po::value<uint64_t>(), "limit in MiB/s")
    ("timeout", po::value<uint32_t>(), "pause a live guest after S seconds")
    ("max-downtime", po::value<uint32_t>(), "downtime limit in ms (300)")
    ("progress-timeout", po::value<uint32_t>(),
     "seconds without progress before the stall policy acts (30)");
  // clang-format on
  po::variables_map vm;
  if (auto err = parse_args("migrate", words, desc,
                            {"DOM", "DESTURI", "MIGRATEURI"}, vm, 1))
    return err;
  migration_flags f;
  f.dest_uri = vm["DESTURI"].as<std::string>();
  if (vm.count("MIGRATEURI"))
    f.migrate_uri = vm["MIGRATEURI"].as<std::string>();
  if (vm.count("listen-address"))
    f.listen_address = vm["listen-address"].as<std::string>();
  f.live = vm["live"].as<bool>();
  f.p2p = vm["p2p"].as<bool>();
  f.tunnelled = vm["tunnelled"].as<bool>();
  f.direct = vm["direct"].as<bool>();
  f.persistent = vm["persistent"].as<bool>();
  f.undefine_source = vm["undefinesource"].as<bool>();
  f.suspend = vm["suspend"].as<bool>();
  f.auto_converge = vm["auto-converge"].as<bool>();
  f.secure = vm["secure"].as<bool>();
  f.tls = vm["tls"].as<bool>();
  if (vm.count("dname"))
    f.dname = vm["dname"].as<std::string>();
  if (vm.count("bandwidth"))
    f.bandwidth_mibps = vm["bandwidth"].as<uint64_t>();
  if (vm.count("timeout"))
    f.timeout_s = vm["timeout"].as<uint32_t>();
  if (vm.count("max-downtime"))
    f.max_downtime_ms = vm["max-downtime"].as<uint32_t>();
  if (vm.count("progress-timeout"))
    f.progress_timeout_ms = vm["progress-timeout"].as<uint32_t>() * 1000;
  if (auto err = validate_flags(f))
    return err;
  auto dom = vm["DOM"].as<std::string>();
  bool verbose = vm["verbose"].as<bool>();
  auto source = ctx.link();
  if (!source)
    return source.error();
  caf::expected<migration_result> res{migration_result{}};
  if (f.p2p || f.direct) {
    // migrate_to_uri: the source agent does everything.
    auto promise = std::make_shared<std::promise<caf::expected<migration_result>>>();
    auto fut = promise->get_future();
    auto session = (*source)->session;
    auto& sys = ctx.system();
    std::thread{[promise, session, &sys, dom, f] {
      promise->set_value(rpc::call<migration_result>(
        sys, session, migrate_request{dom, f, {}},
        phase_timeouts{}.perform));
    }}.detach();
    res = wait_with_progress(ctx, fut, **source, dom, verbose);
  } else {
    // migrate: this client coordinates, holding both agents' sessions.
    // --secure and --tls are judged by the agents' drivers (begin on the
    // source, prepare on the destination), which know their data path.
    auto dest = ctx.connect(f.dest_uri);
    if (!dest)
      return make_error(errc::migration_failed,
                        "cannot reach the destination agent: "
                          + error_text(dest.error()));
    auto promise = std::make_shared<std::promise<caf::expected<migration_result>>>();
    auto fut = promise->get_future();
    coordinator_args args;
    args.job_id = new_job_id();
    args.domain = dom;
    args.flags = f;
    args.source_entry = caf::actor_cast<caf::actor>((*source)->session);
    args.dest_entry = caf::actor_cast<caf::actor>(dest->session);
    args.source_agent = (*source)->agent_name;
    args.done = [promise](caf::expected<migration_result> r) {
      promise->set_value(std::move(r));
    };
    ctx.system().spawn(migration_coordinator, std::move(args));
    res = wait_with_progress(ctx, fut, **source, dom, verbose);
    disconnect(*dest);
  }
  if (!res)
    return res.error();
  if (ctx.json()) {
    ctx.out() << to_json(*res).dump() << "\n";
    return caf::none;
  }
  char line[256];
  std::snprintf(line, sizeof(line),
                "Migration of '%s' (%s) done in %llu ms, downtime %llu ms, "
                "%s at %.1f MiB/s, %s",
                res->domain.c_str(), res->mode.c_str(),
                static_cast<unsigned long long>(res->total_ms),
                static_cast<unsigned long long>(res->downtime_ms),
                format_bytes(res->bytes).c_str(), res->mibps,
                res->digest_verified
                  ? "digest verified"
                  : "no end-to-end digest (the hypervisor's stream has none)");
  ctx.out() << line << "\n";
  if (!res->warning.empty())
    ctx.out() << "warning: " << res->warning << "\n";
  return caf::none;
}

/// A job-control verb: DOM plus, for some, a number.
command job_command(const char* name, job_verb verb, const char* value_name,
                    const char* summary) {
  std::string usage = std::string{verb == job_verb::info ? "[--completed] DOM"
                                  : verb == job_verb::recover
                                    ? "[--assume committed|failed] DOM"
                                    : "DOM"}
                      + (value_name ? std::string{" "} + value_name : "");
  return {name, usage, summary,
          [name, verb, value_name](context& ctx,
                                   const std::vector<std::string>& words)
            -> caf::error {
            po::options_description desc;
            if (verb == job_verb::info)
              desc.add_options()("completed", po::bool_switch(),
                                 "the last finished job");
            if (verb == job_verb::recover)
              desc.add_options()("assume", po::value<std::string>(),
                                 "decide instead of the destination");
            po::variables_map vm;
            std::vector<std::string> pos{"DOM"};
            if (value_name != nullptr)
              pos.push_back(value_name);
            if (auto err = parse_args(name, words, desc, pos, vm))
              return err;
            bool completed = verb == job_verb::info
                             && vm["completed"].as<bool>();
            job_control req{verb, vm["DOM"].as<std::string>(),
                            completed ? job_info_completed : 0, {}};
            if (verb == job_verb::recover && vm.count("assume") != 0) {
              auto choice = vm["assume"].as<std::string>();
              if (choice == "committed")
                req.value = recover_assume_committed;
              else if (choice == "failed")
                req.value = recover_assume_failed;
              else
                return make_error(errc::invalid_argument,
                                  std::string{name}
                                    + ": --assume takes 'committed' or "
                                      "'failed', not '"
                                    + choice + "'");
            }
            if (value_name != nullptr) {
              auto text = vm[value_name].as<std::string>();
              try {
                size_t used = 0;
                auto v = std::stoull(text, &used);
                if (used != text.size() || text[0] == '-')
                  throw std::invalid_argument("x");
                req.value = v;
              } catch (...) {
                return make_error(errc::invalid_argument,
                                  std::string{name} + ": " + value_name
                                    + " must be a non-negative number");
              }
            }
            auto res = ctx.call<job_stats>(req);
            if (!res)
              return res.error();
            if (ctx.json()) {
              ctx.out() << to_json(*res).dump() << "\n";
              return caf::none;
            }
            switch (verb) {
              case job_verb::info:
                print_jobinfo(ctx.out(), *res, completed);
                break;
              case job_verb::abort:
                ctx.out() << "Job " << res->job_id << " of '" << res->domain
                          << "' aborted\n";
                break;
              case job_verb::recover:
                ctx.out() << "Job " << res->job_id << " of '" << res->domain
                          << "' resolved: " << res->error << "\n";
                break;
              default:
                ctx.out() << "Job " << res->job_id << " of '" << res->domain
                          << "' updated\n";
            }
            return caf::none;
          }};
}

} // namespace

void add_migration_commands(std::vector<command>& t) {
  t.push_back({"migrate",
               "[--live] [--p2p [--tunnelled]] [--direct] [--persistent] "
               "[--undefinesource] [--suspend] [--dname NAME] "
               "[--bandwidth MIBPS] [--timeout S] [--auto-converge] "
               "[--tls] [--secure] [--verbose] DOM DESTURI [MIGRATEURI]",
               "move a domain to another agent (or hypervisor, --direct)",
               migrate_cmd});
  t.push_back(job_command("domjobinfo", job_verb::info, nullptr,
                          "progress of the domain's migration job "
                          "(--completed: its last finished one)"));
  t.push_back(job_command("domjobabort", job_verb::abort, nullptr,
                          "abort the domain's migration (it stays here)"));
  t.push_back(job_command("migrate-setmaxdowntime", job_verb::set_downtime,
                          "MS", "change the downtime limit of a running job"));
  t.push_back(job_command("migrate-setspeed", job_verb::set_speed, "MIBPS",
                          "change the bandwidth limit of a running job"));
  t.push_back(job_command("migrate-recover", job_verb::recover, nullptr,
                          "ask the destination now what became of a job "
                          "whose outcome is unknown, and act on it "
                          "(--assume: the operator decides instead)"));
}

} // namespace ferry::cli
