// memory_bound: peak resident memory of both agents (ferryd; guest RAM
// lives in their ferry-testhv children) during a tunnelled migration over
// TLS of a 4 GiB test domain, against the same during a 256 MiB one: the
// ratio shows whether agent memory grows with the domain.

#include <algorithm>
#include <cstdio>
#include <string>

#include "tools/bench/bench.hpp"
#include "tools/bench/bench_cluster.hpp"
#include "tools/bench/rss_sampler.hpp"

namespace ferry::bench {

namespace {

/// Peak RSS (MiB) of the larger of the two agents while `mib` MiB cross.
double peak_mib(bench_cluster& c, const std::string& dom, unsigned mib) {
  c.define_and_start("a", dom, test_xml(dom, mib));
  rss_sampler sampler{{c.at("a").pid(), c.at("b").pid()}};
  c.migrate("a", "b", dom, {"--p2p", "--tunnelled", "--live"});
  auto peaks = sampler.stop();
  c.ok("b", {"destroy", dom});
  c.ok("a", {"undefine", dom});
  return static_cast<double>(*std::max_element(peaks.begin(), peaks.end()))
         / 1024;
}

} // namespace

void run_memory_bound(const options& opt, const sink& out) {
  unsigned big = opt.quick ? 512 : 4096;
  unsigned small = opt.quick ? 64 : 256;
  bench_cluster c{"ferry-bench-mem"};
  c.start_node("a");
  c.start_node("b");
  auto idle = static_cast<double>(
                std::max(rss_sampler::status_kib(c.at("a").pid(), "VmRSS"),
                         rss_sampler::status_kib(c.at("b").pid(), "VmRSS")))
              / 1024;
  auto base = peak_mib(c, "small", small);
  auto value = peak_mib(c, "big", big);
  char note[160];
  std::snprintf(note, sizeof note,
                "peak agent RSS, tunnelled TLS, %u MiB vs %u MiB domain "
                "(idle agent %.0f MiB)",
                big, small, idle);
  out({"memory_bound", value, "MiB", base, note});
}

} // namespace ferry::bench
