#include "tools/shell/shell_verbs.hpp"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <thread>

#include "messages/all.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/output.hpp"

namespace ferry::shell {

namespace {

void print_job_line(std::ostream& out, const job_stats& s) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "  %-10s %-11s %-9s %-15s %8.1f MiB/s  %s/%s  pass %llu%s",
                s.role.c_str(), s.mode.c_str(), to_string(s.phase),
                s.domain.c_str(), s.mibps,
                cli::format_bytes(s.data_processed).c_str(),
                cli::format_bytes(s.data_total).c_str(),
                static_cast<unsigned long long>(s.iteration),
                s.pump_credit >= 0
                  ? ("  pump " + cli::format_bytes(s.pump_bytes) + ", credit "
                     + std::to_string(s.pump_credit))
                      .c_str()
                  : "");
  out << line << "  [" << s.job_id.substr(0, 8) << "]\n";
}

caf::error actors_cmd(cli::context& ctx, bool jobs_only) {
  auto snap = ctx.call<agent_snapshot>(introspect{});
  if (!snap)
    return snap.error();
  auto& out = ctx.out();
  if (!jobs_only) {
    out << "agent " << snap->agent_name << "\n";
    out << "sessions (" << snap->sessions.size() << "):\n";
    for (auto& s : snap->sessions)
      out << "  " << std::left << std::setw(20) << s.identity << " driver "
          << std::setw(6) << s.driver << " roles " << std::setw(16)
          << s.roles << " requests " << s.requests << ", denied "
          << s.denied << "\n";
    out << "drivers (" << snap->drivers.size() << "):\n";
    for (auto& d : snap->drivers)
      out << "  " << std::left << std::setw(8) << d.name << d.active
          << " active of " << d.domains << "  hypervisor "
          << d.hypervisor_uri << "\n";
  }
  out << "jobs (" << snap->jobs.size() << "):\n";
  for (auto& j : snap->jobs)
    print_job_line(out, j);
  return caf::none;
}

/// Follows a domain's job: prints each phase change and, while data
/// moves, its progress, until the job ends.
caf::error watch_cmd(cli::context& ctx, const std::vector<std::string>& a) {
  if (a.empty())
    return make_error(errc::invalid_argument, "usage: watch DOM [MS]");
  auto interval = std::chrono::milliseconds{200};
  if (a.size() > 1)
    interval = std::chrono::milliseconds{std::stoi(a[1])};
  auto& out = ctx.out();
  mig_phase last = mig_phase::none;
  uint64_t last_iteration = UINT64_MAX;
  bool seen = false;
  for (;;) {
    auto s = ctx.call<job_stats>(job_control{job_verb::info, a[0], 0, {}});
    if (!s) {
      if (!seen)
        return s.error();
      out << "job ended\n";
      return caf::none;
    }
    if (!seen)
      out << "watching job " << s->job_id << " (" << s->mode << ", "
          << s->role << ")\n";
    seen = true;
    if (s->phase != last || s->iteration != last_iteration) {
      out << "[" << std::setw(6) << s->elapsed_ms << " ms] ";
      print_job_line(out, *s);
      last = s->phase;
      last_iteration = s->iteration;
    }
    out.flush();
    std::this_thread::sleep_for(interval);
  }
}

} // namespace

void add_verbs(lang::interpreter& interp, cli::context& ctx) {
  for (auto& c : cli::commands()) {
    auto name = c.name;
    interp.add(name, c.usage, c.summary,
               [&ctx, name](const std::vector<std::string>& a) {
                 std::vector<std::string> words{name};
                 words.insert(words.end(), a.begin(), a.end());
                 return cli::run_command(ctx, words);
               });
  }
  interp.add("connect", "URI", "talk to another agent from now on",
             [&ctx](const std::vector<std::string>& a) -> caf::error {
               if (a.size() != 1)
                 return make_error(errc::invalid_argument,
                                   "usage: connect URI");
               auto uri = parse_agent_uri(a[0]);
               if (!uri)
                 return uri.error();
               ctx.set_uri(a[0]);
               auto link = ctx.link();
               if (!link)
                 return link.error();
               ctx.out() << "connected to " << (*link)->agent_name << " as "
                         << (*link)->identity << "\n";
               return caf::none;
             });
  interp.add("actors", "",
             "the agent's sessions, drivers, migration jobs and pumps (admin)",
             [&ctx](const std::vector<std::string>&) {
               return actors_cmd(ctx, false);
             });
  interp.add("jobs", "", "the agent's migration jobs (admin)",
             [&ctx](const std::vector<std::string>&) {
               return actors_cmd(ctx, true);
             });
  interp.add("watch", "DOM [MS]",
             "follow DOM's migration job as it runs (phases, passes)",
             [&ctx](const std::vector<std::string>& a) {
               return watch_cmd(ctx, a);
             });
  interp.add("help", "[VERB]", "list verbs, or explain one",
             [&interp, &ctx](const std::vector<std::string>& a) {
               ctx.out() << interp.help(a.empty() ? std::string{} : a[0]);
               return caf::none;
             });
}

} // namespace ferry::shell
