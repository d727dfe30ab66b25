#include "tools/stress/stress_runner.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "messages/all.hpp"
#include "tools/cli/cli_context.hpp"
#include "tools/cli/commands.hpp"
#include "tools/stress/process_probe.hpp"
#include "util/files.hpp"

namespace ferry::stress {

namespace {

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

std::string mib(uint64_t kib) {
  std::ostringstream os;
  os.precision(1);
  os << std::fixed << static_cast<double>(kib) / 1024.0 << " MiB";
  return os.str();
}

} // namespace

stress_runner::stress_runner(caf::actor_system& sys, harness::cluster& cl,
                             tls_settings tls, stress_options opts,
                             std::ostream& out)
  : sys_(sys), cl_(cl), tls_(std::move(tls)), opts_(opts), out_(out) {
}

client_settings stress_runner::settings_for(const std::string& node) const {
  client_settings s;
  s.uri = cl_.at(node).uri();
  s.tls = tls_;
  s.json = true;
  return s;
}

void stress_runner::fail(const std::string& what) {
  std::lock_guard<std::mutex> guard{mtx_};
  failures_.push_back(what);
  out_ << "  FAIL " << what << std::endl;
}

std::string stress_runner::setup() {
  for (auto& n : nodes_) {
    harness::node_options o;
    o.tls = opts_.tls;
    // The defaults (64 sessions per identity) would refuse the session
    // load on purpose; this run measures the agent, not the limit.
    o.extra_args = {"--max-sessions", "512", "--max-sessions-per-peer", "512",
                    "--max-jobs", "256"};
    auto err = cl_.add_node(n, o).start();
    if (!err.empty())
      return "agent " + n + ": " + err;
  }
  for (uint32_t i = 0; i < opts_.migrations; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "d%03u", i);
    auto node = nodes_[i % nodes_.size()];
    auto xml = "<domain type='test'><name>" + std::string{name}
               + "</name><memory unit='MiB'>"
               + std::to_string(opts_.domain_mib)
               + "</memory><workload dirty-rate='2' working-set='2'/></domain>";
    auto path = cl_.dir() + "/" + name + ".xml";
    if (auto err = files::write_atomic(path, xml))
      return error_text(err);
    for (auto verb : {"define", "start"}) {
      std::ostringstream os;
      cli::context c{sys_, settings_for(node), os};
      auto arg = std::string{verb} == "define" ? path : std::string{name};
      if (auto err = cli::run_command(c, {verb, arg}))
        return std::string{verb} + " " + name + ": " + error_text(err);
    }
    domains_.push_back(name);
    owner_[name] = node;
  }
  return {};
}

bool stress_runner::migrate(const std::string& dom, const std::string& to,
                            const std::string& mode, std::string* why) {
  std::string from;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    from = owner_[dom];
  }
  std::vector<std::string> words{"migrate", "--live"};
  if (mode != "managed")
    words.push_back("--p2p");
  if (mode == "tunnelled")
    words.push_back("--tunnelled");
  words.push_back(dom);
  words.push_back(cl_.at(to).uri());
  std::ostringstream os;
  cli::context c{sys_, settings_for(from), os};
  auto err = cli::run_command(c, words);
  std::lock_guard<std::mutex> guard{mtx_};
  if (err) {
    if (why != nullptr)
      *why = dom + " " + from + "->" + to + " (" + mode
             + "): " + error_text(err);
    owner_[dom] = owner_of(dom); // a failure must leave one owner; find it
    return false;
  }
  owner_[dom] = to;
  return true;
}

std::string stress_runner::owner_of(const std::string& dom) {
  std::string found;
  for (auto& n : nodes_) {
    std::ostringstream os;
    cli::context c{sys_, settings_for(n), os};
    auto list = c.call<std::vector<domain_info>>(list_domains{false});
    if (!list)
      continue;
    for (auto& d : *list)
      if (d.name == dom && d.state == domain_state::running)
        found = found.empty() ? n : found + "+" + n;
  }
  return found;
}

int stress_runner::concurrent_migrations() {
  out_ << "concurrent: " << domains_.size()
       << " p2p migrations at once among 3 agents" << std::endl;
  std::vector<pid_t> pids;
  for (auto& n : nodes_)
    pids.push_back(cl_.at(n).pid());
  peak_sampler peaks{pids};
  auto t0 = clock::now();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < domains_.size(); ++i) {
    threads.emplace_back([this, i, &ok] {
      auto& dom = domains_[i];
      std::string from;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        from = owner_[dom];
      }
      auto to = nodes_[(std::find(nodes_.begin(), nodes_.end(), from)
                        - nodes_.begin() + 1)
                       % nodes_.size()];
      std::string why;
      if (migrate(dom, to, "p2p", &why))
        ++ok;
      else
        fail("concurrent migration " + why);
    });
  }
  for (auto& t : threads)
    t.join();
  auto peak = peaks.stop();
  out_ << "  " << ok << "/" << domains_.size() << " succeeded in "
       << seconds_since(t0) << " s; peak agent RSS";
  for (size_t i = 0; i < nodes_.size(); ++i)
    out_ << " " << nodes_[i] << "=" << mib(peak[i]);
  out_ << std::endl;
  return static_cast<int>(domains_.size()) - ok;
}

int stress_runner::many_sessions() {
  out_ << "sessions: " << opts_.sessions
       << " concurrent client sessions on agent a" << std::endl;
  // Sessions open before the clients come: this probe's own, and the ones
  // the other agents keep with a for their p2p jobs (peer_links, closed
  // after 60 s unused). The clients' sessions must all end; those stay.
  std::ostringstream os;
  cli::context probe{sys_, settings_for("a"), os};
  auto before = probe.call<node_info>(get_node_info{});
  uint32_t baseline = before ? before->sessions : 1;
  auto t0 = clock::now();
  std::vector<std::unique_ptr<std::ostringstream>> sinks(opts_.sessions);
  std::vector<std::unique_ptr<cli::context>> ctxs(opts_.sessions);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  const uint32_t workers = 8;
  for (uint32_t w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      for (uint32_t i = w; i < opts_.sessions; i += workers) {
        sinks[i] = std::make_unique<std::ostringstream>();
        ctxs[i] = std::make_unique<cli::context>(sys_, settings_for("a"),
                                                 *sinks[i]);
        auto res = ctxs[i]->call<std::vector<domain_info>>(list_domains{true});
        if (res)
          ++ok;
        else
          fail("session " + std::to_string(i) + ": "
               + error_text(res.error()));
      }
    });
  for (auto& t : threads)
    t.join();
  auto info = probe.call<node_info>(get_node_info{});
  int failed = static_cast<int>(opts_.sessions) - ok;
  if (!info) {
    fail("nodeinfo with all sessions open: " + error_text(info.error()));
    return failed + 1;
  }
  out_ << "  " << ok << " sessions answered in " << seconds_since(t0)
       << " s; the agent counts " << info->sessions << " open" << std::endl;
  if (info->sessions < opts_.sessions) {
    fail("agent a counts " + std::to_string(info->sessions)
         + " sessions, expected at least " + std::to_string(opts_.sessions));
    ++failed;
  }
  // Every each session must end on the agent once its client goes.
  ctxs.clear();
  uint32_t left = info->sessions;
  for (int i = 0; i < 100 && left > baseline; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    auto now = probe.call<node_info>(get_node_info{});
    if (now)
      left = now->sessions;
  }
  out_ << "  after the clients went: " << left << " session(s) open ("
       << baseline << " before they came)" << std::endl;
  if (left > baseline) {
    fail(std::to_string(left) + " sessions still open 10 s after their "
                                "clients disconnected");
    ++failed;
  }
  return failed;
}

int stress_runner::soak() {
  std::string modes;
  for (auto& m : opts_.soak_modes)
    modes += (modes.empty() ? "" : ", ") + m;
  out_ << "soak: random migrations (" << modes << "), " << opts_.soak_parallel << " in flight, for " << opts_.soak_seconds
       << " s" << std::endl;
  auto deadline = clock::now() + std::chrono::seconds{opts_.soak_seconds};
  std::atomic<int> ok{0};
  std::atomic<int> bad{0};
  std::mutex pick_mtx;
  std::vector<std::string> busy;
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < opts_.soak_parallel; ++w)
    threads.emplace_back([&, w] {
      std::mt19937 rng{w * 7919u + 1};
      while (clock::now() < deadline) {
        std::string dom;
        {
          std::lock_guard<std::mutex> guard{pick_mtx};
          for (int tries = 0; tries < 10 && dom.empty(); ++tries) {
            auto& d = domains_[rng() % domains_.size()];
            if (std::find(busy.begin(), busy.end(), d) == busy.end())
              dom = d;
          }
          if (dom.empty())
            continue;
          busy.push_back(dom);
        }
        std::string from;
        {
          std::lock_guard<std::mutex> guard{mtx_};
          from = owner_[dom];
        }
        std::string to;
        do
          to = nodes_[rng() % nodes_.size()];
        while (to == from);
        std::string why;
        if (migrate(dom, to,
                    opts_.soak_modes[rng() % opts_.soak_modes.size()], &why)) {
          ++ok;
        } else {
          ++bad;
          fail("soak migration " + why);
        }
        std::lock_guard<std::mutex> guard{pick_mtx};
        busy.erase(std::find(busy.begin(), busy.end(), dom));
      }
    });
  for (auto& t : threads)
    t.join();
  out_ << "  " << ok << " migrations succeeded, " << bad << " failed"
       << std::endl;
  return bad;
}

int stress_runner::check_ownership() {
  int failed = 0;
  for (auto& dom : domains_) {
    auto owners = owner_of(dom);
    if (owners.empty() || owners.find('+') != std::string::npos) {
      fail(dom + " runs on " + (owners.empty() ? "no agent" : owners)
           + ", expected exactly one");
      ++failed;
    }
  }
  out_ << "ownership: " << domains_.size() - failed << "/" << domains_.size()
       << " domains run on exactly one agent" << std::endl;
  return failed;
}

int stress_runner::return_home() {
  int failed = 0;
  for (auto& dom : domains_) {
    std::string at;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      at = owner_[dom];
    }
    std::string why;
    if (at != home_[dom] && !migrate(dom, home_[dom], "p2p", &why)) {
      fail("returning " + dom + " home: " + why);
      ++failed;
    }
  }
  out_ << "home: every domain back on the agent it was on when idle"
       << std::endl;
  return failed;
}

std::map<std::string, stress_runner::sample> stress_runner::measure() {
  std::map<std::string, sample> out;
  for (auto& n : nodes_) {
    auto pid = cl_.at(n).pid();
    out[n] = {rss_kib(pid), open_fds(pid), threads_of(pid)};
  }
  return out;
}

void stress_runner::settle() {
  // Finished jobs, closed sessions and pumps are torn down asynchronously.
  std::this_thread::sleep_for(std::chrono::seconds{3});
}

void stress_runner::hold(const char* when) {
  if (opts_.hold_seconds == 0)
    return;
  out_ << "hold (" << when << "): agents";
  for (auto& n : nodes_)
    out_ << " " << n << "=" << cl_.at(n).pid();
  out_ << "; waiting " << opts_.hold_seconds << " s" << std::endl;
  std::this_thread::sleep_for(std::chrono::seconds{opts_.hold_seconds});
}

int stress_runner::check_leaks() {
  auto now = measure();
  int failed = 0;
  for (auto& n : nodes_) {
    auto& i = idle_[n];
    auto& f = now[n];
    if (!cl_.at(n).running() || f.rss_kib == 0) {
      // A dead agent has no RSS to compare: that is the worst leak check.
      fail("agent " + n + " is not running at the end of the run");
      ++failed;
      continue;
    }
    auto limit = static_cast<uint64_t>(static_cast<double>(i.rss_kib)
                                       * (1.0 + opts_.rss_slack));
    out_ << "leaks: agent " << n << " RSS idle " << mib(i.rss_kib)
         << ", after " << mib(f.rss_kib) << " (limit " << mib(limit)
         << "); fds idle " << i.fds << ", after " << f.fds << "; threads idle "
         << i.threads << ", after " << f.threads << std::endl;
    if (f.rss_kib > limit) {
      fail("agent " + n + " RSS grew from " + mib(i.rss_kib) + " to "
           + mib(f.rss_kib));
      ++failed;
    }
    if (f.threads > i.threads) {
      fail("agent " + n + " runs " + std::to_string(f.threads)
           + " threads, " + std::to_string(i.threads) + " when idle");
      ++failed;
    }
    if (f.fds > i.fds + opts_.fd_slack) {
      fail("agent " + n + " holds " + std::to_string(f.fds)
           + " descriptors, " + std::to_string(i.fds) + " when idle");
      ++failed;
    }
  }
  return failed;
}

int stress_runner::run() {
  auto t0 = clock::now();
  if (auto err = setup(); !err.empty()) {
    fail("setup: " + err);
    return 1;
  }
  // Warm-up: every agent pair connected once in each direction, and
  // every code path loaded, so "idle" is the agent's steady state.
  out_ << "warm-up: a round trip between each pair of agents" << std::endl;
  for (size_t i = 0; i < nodes_.size() && i < domains_.size(); ++i) {
    auto& dom = domains_[i];
    auto home = owner_[dom];
    auto next = nodes_[(i + 1) % nodes_.size()];
    for (auto mode : {"p2p", "tunnelled"}) {
      std::string why;
      if (!migrate(dom, next, mode, &why) || !migrate(dom, home, mode, &why))
        fail("warm-up migration " + why);
    }
  }
  settle();
  idle_ = measure();
  home_ = owner_;
  hold("idle");
  int failed = concurrent_migrations();
  failed += many_sessions();
  if (opts_.soak_seconds > 0)
    failed += soak();
  failed += check_ownership();
  failed += return_home();
  settle();
  hold("end");
  failed += check_leaks();
  out_ << (failed == 0 ? "PASS" : "FAIL") << " stress run ("
       << seconds_since(t0) << " s, " << failures_.size() << " failure(s))"
       << std::endl;
  return failed;
}

} // namespace ferry::stress
