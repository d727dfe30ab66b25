// control_latency: the protocol's own overhead. A 1 MiB idle test domain
// goes back and forth between two TLS agents (p2p, --persistent
// --undefinesource, so no cleanup between runs); the agent's job time
// (begin to confirm) is the figure. Baseline: the wall time of a trivial
// CLI request (nodeinfo: process start, TLS, identity proof, one call).

#include <string>

#include "tools/bench/bench.hpp"
#include "tools/bench/bench_cluster.hpp"

namespace ferry::bench {

void run_control_latency(const options& opt, const sink& out) {
  int reps = opt.quick ? 10 : 50;
  bench_cluster c{"ferry-bench-ctl"};
  c.start_node("a");
  c.start_node("b");
  c.define_and_start("a", "tiny", test_xml("tiny", 1));
  std::vector<double> job, wall, trivial;
  std::string from = "a", to = "b";
  for (int i = 0; i < reps; ++i) {
    auto res = c.migrate(from, to, "tiny",
                         {"--p2p", "--live", "--persistent",
                          "--undefinesource"});
    job.push_back(res.value("total_ms", 0.0));
    wall.push_back(res.value("wall_ms", 0.0));
    std::swap(from, to);
    auto t0 = std::chrono::steady_clock::now();
    c.ok(from, {"nodeinfo"});
    trivial.push_back(ms_since(t0));
  }
  auto what = " of " + std::to_string(reps) + " p2p migrations of 1 MiB";
  auto base = median(trivial);
  out({"control_latency_median", median(job), "ms", base,
       "agent's job time, median" + what + " vs a trivial CLI call"});
  out({"control_latency_p99", percentile(job, 99), "ms", base,
       "agent's job time, p99" + what + " vs a trivial CLI call"});
  out({"control_latency_cli", median(wall), "ms", base,
       "CLI wall time, median" + what + " vs a trivial CLI call"});
}

} // namespace ferry::bench
