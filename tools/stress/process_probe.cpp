#include "tools/stress/process_probe.hpp"

#include <chrono>
#include <fstream>
#include <string>

#include <dirent.h>

namespace ferry::stress {

namespace {

/// A numeric field of /proc/PID/status, e.g. `VmRSS:`.
uint64_t status_field(pid_t pid, const std::string& field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string key;
  while (in >> key) {
    if (key == field) {
      uint64_t v = 0;
      in >> v;
      return v;
    }
    std::getline(in, key);
  }
  return 0;
}

} // namespace

uint64_t rss_kib(pid_t pid) {
  return status_field(pid, "VmRSS:");
}

int threads_of(pid_t pid) {
  return static_cast<int>(status_field(pid, "Threads:"));
}

int open_fds(pid_t pid) {
  auto path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr)
    return -1;
  int n = 0;
  while (auto* e = ::readdir(dir))
    if (e->d_name[0] != '.')
      ++n;
  ::closedir(dir);
  return n;
}

peak_sampler::peak_sampler(std::vector<pid_t> pids)
  : pids_(std::move(pids)), peaks_(pids_.size()) {
  thread_ = std::thread{[this] {
    while (!stop_) {
      for (size_t i = 0; i < pids_.size(); ++i) {
        auto v = rss_kib(pids_[i]);
        if (v > peaks_[i])
          peaks_[i] = v;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }};
}

peak_sampler::~peak_sampler() {
  stop();
}

std::vector<uint64_t> peak_sampler::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
  std::vector<uint64_t> out;
  for (auto& p : peaks_)
    out.push_back(p);
  return out;
}

} // namespace ferry::stress
