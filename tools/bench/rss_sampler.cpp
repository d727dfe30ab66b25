#include "tools/bench/rss_sampler.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

namespace ferry::bench {

long rss_sampler::status_kib(pid_t pid, const char* field) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  auto len = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, len, field) == 0 && line.size() > len
        && line[len] == ':')
      return std::stol(line.substr(len + 1));
  return -1;
}

rss_sampler::rss_sampler(std::vector<pid_t> pids)
  : pids_(std::move(pids)), peak_(pids_.size(), 0) {
  for (auto pid : pids_) {
    std::ofstream reset{"/proc/" + std::to_string(pid) + "/clear_refs"};
    reset << "5";
  }
  thread_ = std::thread{[this] {
    while (!stop_) {
      for (size_t i = 0; i < pids_.size(); ++i)
        peak_[i] = std::max(peak_[i], status_kib(pids_[i], "VmRSS"));
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }};
}

rss_sampler::~rss_sampler() {
  stop();
}

std::vector<long> rss_sampler::stop() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
    for (size_t i = 0; i < pids_.size(); ++i)
      peak_[i] = std::max(peak_[i], status_kib(pids_[i], "VmHWM"));
  }
  return peak_;
}

} // namespace ferry::bench
