#include "tools/harness/netns.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "util/process.hpp"

namespace ferry::harness {

namespace {

/// Namespaces this process created and has not removed yet: what the
/// signal thread removes when the run is interrupted.
struct registry {
  std::mutex mtx;
  std::set<std::string> live;

  static registry& instance() {
    static auto* r = new registry; // used by a detached thread until _exit
    return *r;
  }
};

/// Runs `argv` (found in PATH) and waits; "" on success, else the command
/// and what it printed. With `out`, receives its standard output.
std::string run(const std::vector<std::string>& argv,
                std::string* out = nullptr) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return std::string{"pipe: "} + std::strerror(errno);
  process::spawn_request req;
  req.argv = argv;
  req.stdout_fd = fds[1];
  req.stderr_fd = fds[1];
  std::string err;
  auto pid = process::spawn(req, err);
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while (pid > 0 && (n = ::read(fds[0], buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (pid < 0)
    return err;
  int status = 0;
  process::wait_exit(pid, 30000, &status);
  if (out != nullptr)
    *out = text;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return "";
  std::string cmd;
  for (auto& a : argv)
    cmd += (cmd.empty() ? "" : " ") + a;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return "`" + cmd + "` failed" + (text.empty() ? "" : ": " + text);
}

/// Kills what still runs in `ns` (an agent's QEMU guests outlive it) and
/// deletes the namespace; its veth, rules and queues go with it.
void remove_ns(const std::string& ns) {
  for (int round = 0; round < 20; ++round) {
    std::string pids;
    run({"ip", "netns", "pids", ns}, &pids);
    std::istringstream in{pids};
    bool any = false;
    for (long pid = 0; in >> pid;) {
      if (pid > 1 && pid != ::getpid()) {
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        any = true;
      }
    }
    if (!any)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  run({"ip", "netns", "del", ns});
  std::lock_guard<std::mutex> guard{registry::instance().mtx};
  registry::instance().live.erase(ns);
}

/// Removes `ferry-PID-*` namespaces whose PID no longer exists: what a run
/// that was SIGKILLed (or crashed) left behind. Live runs are left alone.
void remove_stale() {
  auto* dir = ::opendir("/run/netns");
  if (dir == nullptr)
    return;
  std::vector<std::string> stale;
  while (auto* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name.rfind("ferry-", 0) != 0)
      continue;
    auto dash = name.find('-', 6);
    if (dash == std::string::npos || dash == 6)
      continue;
    auto digits = name.substr(6, dash - 6);
    if (digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    auto pid = static_cast<pid_t>(std::stol(digits));
    if (::kill(pid, 0) == 0 || errno == EPERM)
      continue;
    stale.push_back(name);
  }
  ::closedir(dir);
  for (auto& ns : stale) {
    remove_ns(ns);
    std::fprintf(stderr, "removed network namespace %s left by a run that "
                         "is gone\n", ns.c_str());
  }
}

void remove_all_registered() {
  std::set<std::string> live;
  {
    std::lock_guard<std::mutex> guard{registry::instance().mtx};
    live = registry::instance().live;
  }
  for (auto& ns : live)
    remove_ns(ns);
}

bool executable_in_path(const std::string& tool) {
  auto* path = std::getenv("PATH");
  std::istringstream dirs{path != nullptr ? path : ""};
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && ::access((d + "/" + tool).c_str(), X_OK) == 0)
      return true;
  return false;
}

std::atomic<int> next_subnet{0};

} // namespace

std::string netns_unavailable() {
  if (::geteuid() != 0)
    return "needs root (it creates network namespaces, veth pairs and "
           "iptables rules)";
  // Root's tools live in sbin, which a test environment's PATH may lack.
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH")
                                                    : "/usr/bin:/bin";
  if (path.find("/usr/sbin") == std::string::npos)
    ::setenv("PATH", (path + ":/usr/sbin:/sbin").c_str(), 1);
  if (!executable_in_path("ip"))
    return "needs the `ip` command (Debian: apt-get install iproute2)";
  if (!executable_in_path("iptables"))
    return "needs the `iptables` command (Debian: apt-get install iptables)";
  return "";
}

std::string netns_prepare_process() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  // Blocked here, inherited by every thread created later; children get a
  // clean mask from process::spawn.
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (::unshare(CLONE_NEWNET) != 0)
    return std::string{"cannot create a network namespace: "}
           + std::strerror(errno);
  if (auto err = run({"ip", "link", "set", "lo", "up"}); !err.empty())
    return err;
  std::thread{[set] {
    int sig = 0;
    ::sigwait(&set, &sig);
    std::fprintf(stderr, "\n%s: removing this run's network namespaces\n",
                 ::strsignal(sig));
    remove_all_registered();
    std::_Exit(128 + sig);
  }}.detach();
  remove_stale();
  return "";
}

netns_network::netns_network() : subnet_(next_subnet++ % 250 + 1) {
  prefix_ = "10.201." + std::to_string(subnet_) + ".";
}

netns_network::~netns_network() {
  delays_.reset();
  for (auto& [name, m] : members_)
    remove_ns(m.ns);
  if (!bridge_.empty())
    run({"ip", "link", "del", bridge_});
}

netns_place netns_network::add(const std::string& node, std::string& err) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (node.empty()
      || node.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
           != std::string::npos) {
    err = "node name '" + node + "' cannot name a network namespace";
    return {};
  }
  if (members_.size() >= 200) {
    err = "at most 200 nodes per network";
    return {};
  }
  if (bridge_.empty()) {
    auto br = "fbr" + std::to_string(subnet_);
    run({"ip", "link", "del", br}); // a leftover of an earlier file
    for (auto& cmd : std::vector<std::vector<std::string>>{
           {"ip", "link", "add", br, "type", "bridge"},
           {"ip", "addr", "add", prefix_ + "254/24", "dev", br},
           {"ip", "link", "set", br, "up"}}) {
      err = run(cmd);
      if (!err.empty())
        return {};
    }
    bridge_ = br;
  }
  member m;
  m.index = static_cast<int>(members_.size()) + 1;
  m.ns = "ferry-" + std::to_string(::getpid()) + "-" + node;
  m.address = prefix_ + std::to_string(m.index);
  if (::access(("/run/netns/" + m.ns).c_str(), F_OK) == 0)
    remove_ns(m.ns); // ours, left by an earlier file of this run
  err = run({"ip", "netns", "add", m.ns});
  if (!err.empty())
    return {};
  {
    std::lock_guard<std::mutex> guard{registry::instance().mtx};
    registry::instance().live.insert(m.ns);
  }
  members_[node] = m;
  auto veth = "fv" + std::to_string(subnet_) + "n" + std::to_string(m.index);
  for (auto& cmd : std::vector<std::vector<std::string>>{
         {"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0",
          "netns", m.ns},
         {"ip", "link", "set", veth, "master", bridge_, "up"},
         {"ip", "-n", m.ns, "addr", "add", m.address + "/24", "dev", "eth0"},
         {"ip", "-n", m.ns, "link", "set", "eth0", "up"},
         {"ip", "-n", m.ns, "link", "set", "lo", "up"}}) {
    err = run(cmd);
    if (!err.empty())
      return {};
  }
  return {m.ns, m.address};
}

const netns_network::member* netns_network::find(const std::string& node,
                                                 std::string& err) const {
  auto i = members_.find(node);
  if (i == members_.end()) {
    err = "no node named '" + node + "' in the network";
    return nullptr;
  }
  return &i->second;
}

std::string netns_network::iptables(const std::string& ns,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip", "netns", "exec", ns, "iptables", "-w"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::string netns_network::cut(const std::string& a, const std::string& b) {
  return set_cut(a, b, true);
}

std::string netns_network::restore(const std::string& a,
                                   const std::string& b) {
  return set_cut(a, b, false);
}

std::string netns_network::set_cut(const std::string& a, const std::string& b,
                                   bool on) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::pair<std::string, std::string> key = std::minmax(a, b);
  std::string err;
  auto* x = find(key.first, err);
  auto* y = x != nullptr ? find(key.second, err) : nullptr;
  if (y == nullptr)
    return err;
  if ((cuts_.count(key) != 0) == on)
    return ""; // idempotent
  // Both directions are dropped in one of the two namespaces; inserted
  // first, so they win over a delay's queue rule.
  std::string op = on ? "-I" : "-D";
  for (auto& rule : std::vector<std::vector<std::string>>{
         {op, "INPUT", "-s", y->address, "-j", "DROP"},
         {op, "OUTPUT", "-d", y->address, "-j", "DROP"}})
    if (auto e = iptables(x->ns, rule); !e.empty())
      return e;
  if (on)
    cuts_.insert(key);
  else
    cuts_.erase(key);
  return "";
}

std::string netns_network::delay(const std::string& a, const std::string& b,
                                 std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::string err;
  auto* x = find(a, err);
  auto* y = x != nullptr ? find(b, err) : nullptr;
  if (y == nullptr)
    return err;
  if (!delays_)
    delays_ = std::make_unique<delay_line>();
  for (auto [from, to] : {std::make_pair(x, y), std::make_pair(y, x)}) {
    // Held where `to` receives, not where `from` sends: the stack orphans
    // a received packet from its sending socket, while a packet held in
    // the sender's OUTPUT still counts against the socket's TCP Small
    // Queues budget and throttles the flow to a few packets per delay.
    // The queue numbered after the sender holds what it sends; it is bound
    // before the rule exists.
    auto queue = static_cast<uint16_t>(from->index);
    if (auto e = delays_->set(to->ns, queue, d); !e.empty())
      return e;
    auto key = std::make_pair(to->ns, from->address);
    bool present = delayed_.count(key) != 0;
    std::vector<std::string> rule{"INPUT", "-s", from->address, "-j",
                                  "NFQUEUE", "--queue-num",
                                  std::to_string(queue), "--queue-bypass"};
    if (d.count() > 0 && !present) {
      rule.insert(rule.begin(), "-A");
      if (auto e = iptables(to->ns, rule); !e.empty())
        return e;
      delayed_.insert(key);
    } else if (d.count() == 0 && present) {
      rule.insert(rule.begin(), "-D");
      if (auto e = iptables(to->ns, rule); !e.empty())
        return e;
      delayed_.erase(key);
    }
  }
  return "";
}

} // namespace ferry::harness
