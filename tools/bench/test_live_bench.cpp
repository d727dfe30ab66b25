// test_live: total time and downtime of a live migration of a 1 GiB
// test-driver domain dirtying 64 MiB/s (in a 256 MiB working set), by
// process. Baseline: the same figure for peer-to-peer (native data path).

#include <stdexcept>
#include <string>
#include <thread>

#include "tools/bench/bench.hpp"
#include "tools/bench/bench_cluster.hpp"

namespace ferry::bench {

namespace {

struct process_case {
  const char* name;
  std::vector<std::string> flags;
  bool direct;
};

/// Destroys `dom` on `node`, waiting for a direct migration's domain to
/// show up there first.
void destroy_when_there(bench_cluster& c, const std::string& node,
                        const std::string& dom) {
  for (int i = 0; i < 100; ++i) {
    if (c.run(node, {"destroy", dom}).rc == 0)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  c.ok(node, {"destroy", dom});
}

} // namespace

void run_test_live(const options& opt, const sink& out) {
  unsigned mib = opt.quick ? 128 : 1024;
  unsigned ws = opt.quick ? 64 : 256;
  int reps = opt.quick ? 1 : 3;
  const process_case cases[] = {{"p2p", {"--p2p"}, false},
                                {"managed", {}, false},
                                {"tunnelled", {"--p2p", "--tunnelled"}, false},
                                {"direct", {"--direct"}, true}};
  bench_cluster c{"ferry-bench-live"};
  c.start_node("a");
  auto& b = c.start_node("b");
  double base_total = 0, base_down = 0;
  for (auto& pc : cases) {
    std::vector<double> total, down;
    for (int i = 0; i < reps; ++i) {
      auto dom = std::string{pc.name} + std::to_string(i);
      c.define_and_start("a", dom, test_xml(dom, mib, 64, ws));
      std::vector<std::string> args{"--json", "migrate", "--live"};
      args.insert(args.end(), pc.flags.begin(), pc.flags.end());
      args.insert(args.end(),
                  {dom, pc.direct ? b.hypervisor_uri() : b.uri()});
      auto res = nlohmann::json::parse(c.ok("a", args), nullptr, false);
      if (!res.is_object() || !res.value("digest_verified", false))
        throw std::runtime_error("migrate " + dom + ": " + res.dump());
      total.push_back(res.value("total_ms", 0.0));
      down.push_back(res.value("downtime_ms", 0.0));
      destroy_when_there(c, "b", dom);
      c.ok("a", {"undefine", dom});
    }
    if (base_total == 0) {
      base_total = median(total);
      base_down = median(down);
    }
    auto what = std::to_string(mib) + " MiB dirtying 64 MiB/s, median of "
                + std::to_string(reps) + ", vs p2p";
    out({std::string{"test_live_"} + pc.name + "_total", median(total), "ms",
         base_total, std::string{pc.name} + " total, " + what});
    out({std::string{"test_live_"} + pc.name + "_downtime", median(down), "ms",
         base_down, std::string{pc.name} + " downtime, " + what});
  }
}

} // namespace ferry::bench
