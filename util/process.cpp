#include "util/process.hpp"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ferry::process {

namespace {

/// Children we started, their exit callbacks, and those already gone.
struct reaper {
  std::mutex mtx;
  std::condition_variable cv;
  std::set<pid_t> alive;
  std::map<pid_t, int> exited; ///< pid -> status, until someone waited
  std::map<pid_t, std::function<void(int)>> callbacks;
  bool started = false;

  static reaper& instance() {
    static auto* r = new reaper; // never destroyed: its thread outlives main
    return *r;
  }

  void ensure_thread() {
    if (started)
      return;
    started = true;
    std::thread{[this] { loop(); }}.detach();
  }

  void loop() {
    for (;;) {
      {
        std::unique_lock<std::mutex> guard{mtx};
        cv.wait(guard, [this] { return !alive.empty(); });
      }
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0) {
        if (errno == ECHILD)
          std::this_thread::sleep_for(std::chrono::milliseconds{10});
        continue;
      }
      std::function<void(int)> cb;
      {
        std::lock_guard<std::mutex> guard{mtx};
        alive.erase(pid);
        exited[pid] = status;
        if (exited.size() > 1024)
          exited.erase(exited.begin());
        auto i = callbacks.find(pid);
        if (i != callbacks.end()) {
          cb = std::move(i->second);
          callbacks.erase(i);
        }
        cv.notify_all();
      }
      if (cb)
        cb(status);
    }
  }
};

} // namespace

pid_t spawn(const spawn_request& req, std::string& err) {
  if (req.argv.empty()) {
    err = "empty command";
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // Inherited descriptors first go to high numbers, then to their targets,
  // so that a mapping never clobbers another's source.
  int scratch = 200;
  std::vector<std::pair<int, int>> moves;
  for (auto& [from, to] : req.fds) {
    posix_spawn_file_actions_adddup2(&actions, from, scratch);
    moves.emplace_back(scratch++, to);
  }
  for (auto& [from, to] : moves) {
    posix_spawn_file_actions_adddup2(&actions, from, to);
    posix_spawn_file_actions_addclose(&actions, from);
  }
  if (req.output_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, req.output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, req.output_fd, 2);
  }
  if (req.stdin_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, req.stdin_fd, 0);
  if (req.stdout_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, req.stdout_fd, 1);
  if (req.stderr_fd >= 0)
    posix_spawn_file_actions_adddup2(&actions, req.stderr_fd, 2);
  // The parent's environment, without the names `req.env` sets: getenv
  // returns the first entry of a name, so appending would not override.
  auto overridden = [&req](const char* entry) {
    for (auto& e : req.env) {
      auto name_len = e.find('=');
      if (name_len != std::string::npos
          && std::strncmp(entry, e.c_str(), name_len + 1) == 0)
        return true;
    }
    return false;
  };
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e)
    if (!overridden(*e))
      env_storage.emplace_back(*e);
  for (auto& e : req.env)
    env_storage.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_storage)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK
                                    | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (auto& a : req.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto& r = reaper::instance();
  pid_t pid = -1;
  {
    // Hold the lock so the reaper cannot collect the child before it is
    // registered as alive.
    std::lock_guard<std::mutex> guard{r.mtx};
    int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(),
                            envp.data());
    if (rc != 0) {
      err = "cannot start " + req.argv[0] + ": " + std::strerror(rc);
      pid = -1;
    } else {
      r.alive.insert(pid);
      r.ensure_thread();
      r.cv.notify_all();
    }
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return pid;
}

void on_exit(pid_t pid, std::function<void(int)> callback) {
  auto& r = reaper::instance();
  std::unique_lock<std::mutex> guard{r.mtx};
  auto i = r.exited.find(pid);
  if (i != r.exited.end()) {
    auto status = i->second;
    guard.unlock();
    callback(status);
    return;
  }
  r.callbacks[pid] = std::move(callback);
}

bool wait_exit(pid_t pid, int timeout_ms, int* status) {
  auto& r = reaper::instance();
  std::unique_lock<std::mutex> guard{r.mtx};
  auto done = r.cv.wait_for(guard, std::chrono::milliseconds{timeout_ms},
                            [&] { return r.alive.count(pid) == 0; });
  if (done && status != nullptr) {
    auto i = r.exited.find(pid);
    *status = i != r.exited.end() ? i->second : 0;
  }
  return done;
}

void kill_child(pid_t pid, int sig) {
  auto& r = reaper::instance();
  std::lock_guard<std::mutex> guard{r.mtx};
  if (r.alive.count(pid) != 0)
    ::kill(pid, sig);
}

std::string self_dir() {
  char buf[PATH_MAX];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return ".";
  std::string path(buf, static_cast<size_t>(n));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

double cpu_seconds(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  std::getline(in, line);
  // The command name is in parentheses and may hold spaces: the fields
  // counted from 3 (state) start after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream fields{line.substr(close + 1)};
  std::string skip;
  for (int i = 3; i < 14; ++i)
    fields >> skip;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (!(fields >> utime >> stime))
    return -1;
  return static_cast<double>(utime + stime)
         / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace ferry::process
