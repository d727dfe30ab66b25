#include "tools/scenario/scenario_runner.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "messages/all.hpp"
#include "tools/cli/commands.hpp"
#include "transport/rpc.hpp"

namespace ferry::scenario {

caf::expected<std::chrono::milliseconds> parse_duration(const std::string& s) {
  auto bad = [&] {
    return make_error(errc::invalid_argument,
                      "'" + s + "' is not a duration (e.g. 500ms, 2s)");
  };
  if (s.empty())
    return bad();
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(s, &used);
  } catch (...) {
    return bad();
  }
  auto unit = s.substr(used);
  if (value < 0)
    return bad();
  if (unit.empty() || unit == "ms")
    return std::chrono::milliseconds{static_cast<int64_t>(value)};
  if (unit == "s")
    return std::chrono::milliseconds{static_cast<int64_t>(value * 1000)};
  return bad();
}

scenario_runner::scenario_runner(caf::actor_system& sys, harness::cluster& cl,
                                 tls_settings client_tls, std::ostream& log,
                                 bool verbose, harness::netns_network* net)
  : sys_(sys),
    cl_(cl),
    tls_(std::move(client_tls)),
    log_(log),
    verbose_(verbose),
    net_(net) {
  register_verbs();
}

scenario_runner::~scenario_runner() {
  stopping_ = true;
  for (auto& t : triggers_)
    if (t.joinable())
      t.join();
  for (auto& [name, job] : jobs_)
    if (job->thread.joinable())
      job->thread.join();
  for (auto& name : cl_.names())
    cl_.at(name).thaw(); // never leave a frozen agent behind
}

harness::node& scenario_runner::node(const std::string& name) {
  if (!cl_.has(name))
    throw std::runtime_error("no node named '" + name + "'");
  return cl_.at(name);
}

client_settings scenario_runner::settings_for(const std::string& name,
                                              bool json) const {
  client_settings s;
  s.uri = cl_.at(name).uri();
  s.tls = tls_;
  s.json = json;
  return s;
}

cli::context& scenario_runner::ctx(const std::string& name) {
  auto i = ctx_.find(name);
  if (i != ctx_.end())
    return *i->second;
  node(name);
  auto c = std::make_unique<cli::context>(sys_, settings_for(name, true),
                                          log_);
  auto& ref = *c;
  ctx_[name] = std::move(c);
  return ref;
}

void scenario_runner::forget_sessions(const std::string& name) {
  auto i = ctx_.find(name);
  if (i != ctx_.end())
    i->second->set_uri(node(name).uri());
}

caf::error scenario_runner::cli_on(const std::string& name,
                                   const std::vector<std::string>& words,
                                   std::string* out, bool json) {
  std::ostringstream os;
  node(name);
  auto s = settings_for(name, json);
  // A context per call keeps output separate; the session is reused only
  // for JSON queries (ctx()), which are the frequent ones.
  cli::context c{sys_, s, os};
  auto err = cli::run_command(c, words);
  if (out != nullptr)
    *out = os.str();
  if (verbose_)
    log_ << "    [" << name << "] " << os.str();
  return err;
}

link_proxy& scenario_runner::link(const std::string& from,
                                  const std::string& to, bool hypervisor) {
  auto key = from + ">" + to + (hypervisor ? "/hv" : "");
  std::lock_guard<std::mutex> guard{links_mtx_};
  auto i = links_.find(key);
  if (i != links_.end())
    return *i->second;
  auto& dest = node(to).options();
  host_port target{dest.host, static_cast<uint16_t>(dest.port
                                                    + (hypervisor ? 1 : 0))};
  auto proxy = std::make_unique<link_proxy>(target);
  auto& ref = *proxy;
  links_[key] = std::move(proxy);
  return ref;
}

std::string scenario_runner::uri_for(const std::string& from,
                                     const std::string& to, bool direct) {
  // In namespaces the source reaches the destination's own address; the
  // network's rules stand for the link.
  if (net_ != nullptr)
    return direct ? node(to).hypervisor_uri() : node(to).uri();
  auto& proxy = link(from, to, direct);
  auto hp = "127.0.0.1:" + std::to_string(proxy.port());
  if (direct)
    return "testhv://" + hp;
  auto& drivers = node(to).options().drivers;
  return "ferry+tls://" + hp + "/"
         + (drivers.empty() ? std::string{"test"} : drivers.front());
}

std::string scenario_runner::expand_addresses(const std::string& text) {
  std::string out;
  size_t at = 0;
  for (;;) {
    auto open = text.find('{', at);
    auto close = open == std::string::npos ? open : text.find('}', open);
    if (close == std::string::npos) {
      out += text.substr(at);
      return out;
    }
    out += text.substr(at, open - at);
    out += node(text.substr(open + 1, close - open - 1)).options().host;
    at = close + 1;
  }
}

std::string scenario_runner::state_of(const std::string& name,
                                      const std::string& dom) {
  if (!node(name).running())
    return "down";
  auto res = ctx(name).call<std::vector<domain_info>>(list_domains{true});
  if (!res) {
    forget_sessions(name);
    res = ctx(name).call<std::vector<domain_info>>(list_domains{true});
    if (!res)
      return "unreachable (" + error_text(res.error()) + ")";
  }
  for (auto& d : *res)
    if (d.name == dom)
      return to_string(d.state);
  return "absent";
}

caf::expected<job_stats> scenario_runner::job_info(cli::context& c,
                                                   const std::string& dom) {
  return c.call<job_stats>(job_control{job_verb::info, dom, 0, {}});
}

void scenario_runner::register_verbs() {
  add_node_verbs();
  add_job_verbs();
  add_fault_verbs();
  add_expect_verbs();
  interp_.add("require", "netns [\"WHY\"]",
              "skip this file (saying WHY) unless the run places nodes in "
              "network namespaces (--netns)",
              [this](const std::vector<std::string>& a) -> caf::error {
                if (a.empty() || a.size() > 2 || a[0] != "netns")
                  return make_error(errc::invalid_argument,
                                    "usage: require netns [\"WHY\"]");
                if (net_ == nullptr)
                  skip_reason_ = "needs --netns (as root)"
                                 + (a.size() == 2 ? ": " + a[1]
                                                  : std::string{});
                return caf::none;
              });
  interp_.add("sleep", "DURATION", "wait, e.g. sleep 200ms",
              [](const std::vector<std::string>& a) -> caf::error {
                if (a.size() != 1)
                  return make_error(errc::invalid_argument,
                                    "usage: sleep DURATION");
                auto d = parse_duration(a[0]);
                if (!d)
                  return d.error();
                std::this_thread::sleep_for(*d);
                return caf::none;
              });
}

std::string scenario_runner::report(const std::string& where,
                                    const std::string& why) {
  std::ostringstream os;
  os << where << ": " << why << "\n";
  for (auto& name : cl_.names()) {
    os << "--- last lines of node " << name << "'s log ("
       << (cl_.at(name).running() ? "running" : "down") << ")\n"
       << cl_.at(name).log_tail(15);
  }
  for (auto& [name, job] : jobs_) {
    std::lock_guard<std::mutex> guard{job->stats_mtx};
    auto& s = job->last_stats;
    os << "--- job " << name << " (" << job->domain << " from " << job->source
       << "): " << (job->done ? (job->result ? error_text(job->result)
                                              : std::string{"succeeded"})
                              : std::string{"running"})
       << "; last seen phase " << to_string(s.phase) << ", "
       << s.data_processed << "/" << s.data_total << " bytes, pass "
       << s.iteration << "\n";
  }
  return os.str();
}

std::string scenario_runner::run_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return path + ": cannot read the file\n";
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto where = path + ":" + std::to_string(number);
    auto words = lang::split(line);
    if (!words)
      return report(where, error_text(words.error()));
    if (words->empty())
      continue;
    if (verbose_)
      log_ << "  " << number << ": " << line << "\n";
    caf::error err;
    try {
      err = interp_.run(*words);
    } catch (const std::exception& e) {
      err = make_error(errc::invalid_argument, e.what());
    }
    if (err)
      return report(where + " `" + line + "`", error_text(err));
    if (!skip_reason_.empty())
      return "";
    std::lock_guard<std::mutex> guard{trigger_mtx_};
    if (!trigger_errors_.empty())
      return report(where, trigger_errors_.front());
  }
  for (auto& t : triggers_)
    if (t.joinable())
      t.join();
  std::lock_guard<std::mutex> guard{trigger_mtx_};
  if (!trigger_errors_.empty())
    return report(path, trigger_errors_.front());
  return "";
}

} // namespace ferry::scenario
