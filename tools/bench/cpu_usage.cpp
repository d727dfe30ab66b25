#include "tools/bench/cpu_usage.hpp"

#include <fstream>
#include <string>

#include "util/process.hpp"

namespace ferry::bench {

cpu_usage::cpu_usage(std::vector<pid_t> pids)
  : pids_(std::move(pids)), machine_start_(read_machine()) {
  for (auto pid : pids_)
    start_.push_back(process::cpu_seconds(pid));
}

double cpu_usage::process_ms() const {
  double seconds = 0;
  for (size_t i = 0; i < pids_.size(); ++i) {
    // A process that is gone reads as -1: count nothing for it.
    auto now = process::cpu_seconds(pids_[i]);
    if (start_[i] >= 0 && now > start_[i])
      seconds += now - start_[i];
  }
  return 1000 * seconds;
}

double cpu_usage::machine_busy() const {
  auto now = read_machine();
  if (now.total <= machine_start_.total || now.busy < machine_start_.busy)
    return 0;
  auto total = now.total - machine_start_.total;
  return static_cast<double>(now.busy - machine_start_.busy)
         / static_cast<double>(total);
}

cpu_usage::machine_ticks cpu_usage::read_machine() {
  // "cpu user nice system idle iowait irq softirq steal guest guest_nice";
  // guest time is already part of user, so the first eight are the total.
  std::ifstream in{"/proc/stat"};
  std::string label;
  in >> label;
  machine_ticks t;
  for (int i = 0; i < 8; ++i) {
    unsigned long long v = 0;
    in >> v;
    t.total += v;
    if (i != 3 && i != 4) // idle, iowait
      t.busy += v;
  }
  return t;
}

} // namespace ferry::bench
