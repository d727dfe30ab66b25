#include "tools/harness/node.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <random>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "util/files.hpp"
#include "util/net.hpp"
#include "util/process.hpp"

namespace ferry::harness {

std::string tools_dir() {
  if (auto* dir = std::getenv("FERRY_TOOLS_DIR"); dir != nullptr && *dir != 0)
    return dir;
  return process::self_dir();
}

std::string test_guest_path() {
  if (auto* env = std::getenv("FERRY_TEST_GUEST"); env != nullptr && *env != 0)
    return env;
  return tools_dir() + "/../drivers/qemu/guest/ferry-test-guest.bin";
}

uint16_t free_port_pair(const std::string& host) {
  static std::mt19937 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto port = static_cast<uint16_t>(20000 + rng() % 30000);
    std::string err;
    uint16_t bound = 0;
    int a = net::tcp_listen({host, port}, &bound, err);
    if (a < 0)
      continue;
    int b = net::tcp_listen({host, static_cast<uint16_t>(port + 1)}, &bound,
                            err);
    ::close(a);
    if (b < 0)
      continue;
    ::close(b);
    return port;
  }
  return 0;
}

node::node(std::string tools_dir, node_options opts)
  : tools_dir_(std::move(tools_dir)), opts_(std::move(opts)) {
}

node::~node() {
  if (running()) {
    thaw();
    stop(3000);
  }
}

std::string node::uri(const std::string& driver) const {
  auto d = driver;
  if (d.empty())
    d = opts_.drivers.empty() ? "test" : opts_.drivers.front();
  return std::string{opts_.tls ? "ferry+tls://" : "ferry+tcp://"} + opts_.host
         + ":" + std::to_string(opts_.port) + "/" + d;
}

std::string node::hypervisor_uri() const {
  return "testhv://" + opts_.host + ":" + std::to_string(opts_.port + 1);
}

bool node::running() const {
  return pid_ > 0 && !process::wait_exit(pid_, 0);
}

std::string node::log() const {
  auto text = files::read(opts_.log_path, 64 * 1024 * 1024);
  return text ? *text : std::string{};
}

bool node::wait_guest_filled(const std::string& dom, int timeout_ms) const {
  // The console file the qemu driver gives the test guest, and the line
  // ferry_test_guest.asm writes to it once every page is written.
  auto path = opts_.state_dir + "/qemu/run/" + dom + ".console";
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds{timeout_ms};
  do {
    auto text = files::read(path, 4096);
    if (text && text->find("RAM filled") != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

std::string node::log_tail(size_t lines) const {
  auto text = log();
  // The text after the (lines+1)-th newline from the end (the last line
  // ends in one); all of it when it has fewer lines.
  size_t pos = text.size();
  for (size_t n = 0; n <= lines; ++n) {
    if (pos == 0)
      return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos)
      return text;
  }
  return text.substr(pos + 1);
}

std::string node::start(int timeout_ms) {
  if (running())
    return "already running";
  process::spawn_request req;
  if (!opts_.netns.empty())
    req.argv = {"ip", "netns", "exec", opts_.netns};
  req.argv.insert(req.argv.end(),
                  {tools_dir_ + "/ferryd", "--name", opts_.name, "--listen",
                   (opts_.listen_host.empty() ? opts_.host : opts_.listen_host)
                     + ":" + std::to_string(opts_.port),
                   "--state-dir",
                   opts_.state_dir, "--log-level", "debug"});
  for (auto& d : opts_.drivers) {
    req.argv.push_back("--driver");
    req.argv.push_back(d);
  }
  if (opts_.tls) {
    req.argv.insert(req.argv.end(), {"--tls-cert", opts_.cert, "--tls-key",
                                     opts_.key, "--tls-ca", opts_.ca});
  } else {
    req.argv.push_back("--insecure-tcp");
  }
  if (!opts_.secret_file.empty()) {
    req.argv.push_back("--testhv-secret-file");
    req.argv.push_back(opts_.secret_file);
  }
  req.argv.insert(req.argv.end(), opts_.extra_args.begin(),
                  opts_.extra_args.end());
  int fd = ::open(opts_.log_path.c_str(),
                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return "cannot open log " + opts_.log_path;
  log_offset_ = static_cast<size_t>(::lseek(fd, 0, SEEK_END));
  req.output_fd = fd;
  std::string err;
  pid_ = process::spawn(req, err);
  ::close(fd);
  if (pid_ < 0)
    return err;
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds{timeout_ms};
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = log();
    auto mine = text.size() > log_offset_ ? text.substr(log_offset_) : "";
    if (mine.find(" ready on port ") != std::string::npos)
      return "";
    if (process::wait_exit(pid_, 0))
      return "ferryd " + opts_.name + " exited at start:\n" + log_tail(10);
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  kill();
  return "ferryd " + opts_.name + " did not become ready:\n" + log_tail(10);
}

int node::stop(int timeout_ms, int sig) {
  if (pid_ <= 0)
    return 0;
  process::kill_child(pid_, sig);
  int status = 0;
  if (!process::wait_exit(pid_, timeout_ms, &status)) {
    process::kill_child(pid_, SIGKILL);
    process::wait_exit(pid_, 5000, &status);
  }
  pid_ = -1;
  return status;
}

void node::kill() {
  if (pid_ <= 0)
    return;
  process::kill_child(pid_, SIGKILL);
  process::wait_exit(pid_, 5000);
  pid_ = -1;
}

void node::freeze() {
  if (pid_ > 0)
    process::kill_child(pid_, SIGSTOP);
}

void node::thaw() {
  if (pid_ > 0)
    process::kill_child(pid_, SIGCONT);
}

} // namespace ferry::harness
