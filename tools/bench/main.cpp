// ferry-bench [--json] [--quick] [NAME…]: runs benchmarks against real
// agents on loopback and prints one line per figure. See docs/benchmarks.md.

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include "tools/bench/bench.hpp"
#include "util/process.hpp"

using namespace ferry::bench;

namespace ferry::bench {

const std::vector<benchmark>& all_benchmarks() {
  static const std::vector<benchmark> list{
    {"pump_plain", "pump throughput over ferry+tcp vs raw TCP", run_pump_plain},
    {"pump_tls", "pump throughput over ferry+tls vs AES-256-GCM", run_pump_tls},
    {"qemu_tunnelled", "1 GiB QEMU guest: tunnelled vs native time",
     run_qemu_tunnelled},
    {"test_live", "1 GiB test domain at 64 MiB/s, by process", run_test_live},
    {"control_latency", "p2p job time of a 1 MiB domain, median and p99",
     run_control_latency},
    {"qemu_small", "16 MiB QEMU guest p2p, CLI to completion", run_qemu_small},
    {"concurrency", "32 concurrent p2p migrations vs one", run_concurrency},
    {"memory_bound", "peak agent RSS, tunnelled 4 GiB domain",
     run_memory_bound},
  };
  return list;
}

} // namespace ferry::bench

namespace {

/// A number as JSON with `digits` decimals; "null" when absent.
std::string number(std::optional<double> x, int digits) {
  if (!x || !std::isfinite(*x))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, *x);
  return buf;
}

void print_json(const result& r) {
  std::cout << "{\"name\":" << nlohmann::json(r.name).dump()
            << ",\"value\":" << number(r.value, 2)
            << ",\"unit\":" << nlohmann::json(r.unit).dump()
            << ",\"baseline\":" << number(r.baseline, 2)
            << ",\"ratio\":" << number(r.ratio(), 3) << "}" << std::endl;
}

void print_row(const result& r) {
  char base[32] = "-", ratio[32] = "-";
  if (r.baseline)
    std::snprintf(base, sizeof base, "%.1f", *r.baseline);
  if (auto q = r.ratio())
    std::snprintf(ratio, sizeof ratio, "%.3f", *q);
  std::printf("%-26s %10.1f %-6s %10s %7s  %s\n", r.name.c_str(), r.value,
              r.unit.c_str(), base, ratio, r.note.c_str());
  std::fflush(stdout);
}

int usage(std::ostream& os, int rc) {
  os << "usage: ferry-bench [--json] [--quick] [NAME...]\n\nbenchmarks:\n";
  for (auto& b : all_benchmarks())
    os << "  " << b.name << std::string(18 - std::strlen(b.name), ' ')
       << b.summary << "\n";
  return rc;
}

/// Installed, ferryd sits next to ferry-bench; in a build directory it is
/// one level up (tools/ vs tools/bench/). The harness reads FERRY_TOOLS_DIR.
void find_tools() {
  if (auto* dir = std::getenv("FERRY_TOOLS_DIR"); dir != nullptr && *dir)
    return;
  auto self = ferry::process::self_dir();
  if (::access((self + "/ferryd").c_str(), X_OK) != 0
      && ::access((self + "/../ferryd").c_str(), X_OK) == 0)
    ::setenv("FERRY_TOOLS_DIR", (self + "/..").c_str(), 1);
}

/// One stderr line about the machine: figures depend on its load.
void describe_machine() {
  std::ifstream cpu{"/proc/cpuinfo"}, load{"/proc/loadavg"};
  std::string line, model = "?", avg;
  while (std::getline(cpu, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  std::getline(load, avg);
  std::cerr << "ferry-bench: " << std::thread::hardware_concurrency()
            << " CPUs (" << model << "), load average " << avg << std::endl;
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  std::set<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json")
      opt.json = true;
    else if (arg == "--quick")
      opt.quick = true;
    else if (arg == "-h" || arg == "--help")
      return usage(std::cout, 0);
    else if (!arg.empty() && arg[0] == '-')
      return usage(std::cerr, 2);
    else
      wanted.insert(arg);
  }
  for (auto& name : wanted) {
    bool known = false;
    for (auto& b : all_benchmarks())
      known = known || name == b.name;
    if (!known) {
      std::cerr << "error: no benchmark named '" << name << "'\n";
      return 2;
    }
  }
  find_tools();
  describe_machine();
  if (!opt.json)
    std::printf("%-26s %10s %-6s %10s %7s  %s\n", "name", "value", "unit",
                "baseline", "ratio", "what");
  sink out = opt.json ? sink{print_json} : sink{print_row};
  int failed = 0;
  for (auto& b : all_benchmarks()) {
    if (!wanted.empty() && wanted.count(b.name) == 0)
      continue;
    std::cerr << "ferry-bench: running " << b.name
              << (opt.quick ? " (quick)" : "") << "..." << std::endl;
    try {
      b.run(opt, out);
    } catch (const std::exception& e) {
      std::cerr << "error: " << b.name << ": " << e.what() << std::endl;
      ++failed;
    }
  }
  describe_machine();
  return failed == 0 ? 0 : 1;
}
