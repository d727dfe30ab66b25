#include "tools/bench/cpu_usage.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace ferry::bench {

cpu_usage::cpu_usage(std::vector<pid_t> pids)
  : pids_(std::move(pids)), machine_start_(read_machine()) {
  for (auto pid : pids_)
    start_.push_back(process_ticks(pid));
}

double cpu_usage::process_ms() const {
  unsigned long long ticks = 0;
  for (size_t i = 0; i < pids_.size(); ++i) {
    // A process that is gone reads as 0: count nothing rather than wrap.
    auto now = process_ticks(pids_[i]);
    if (now > start_[i])
      ticks += now - start_[i];
  }
  return 1000.0 * static_cast<double>(ticks)
         / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double cpu_usage::machine_busy() const {
  auto now = read_machine();
  if (now.total <= machine_start_.total || now.busy < machine_start_.busy)
    return 0;
  auto total = now.total - machine_start_.total;
  return static_cast<double>(now.busy - machine_start_.busy)
         / static_cast<double>(total);
}

unsigned long long cpu_usage::process_ticks(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string line;
  std::getline(in, line);
  // The command name is in parentheses and may hold spaces: the fields
  // counted from 3 (state) start after the last ')'. utime and stime are
  // fields 14 and 15.
  auto close = line.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields{line.substr(close + 1)};
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    else if (i == 15)
      stime = std::stoull(field);
  }
  return utime + stime;
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
