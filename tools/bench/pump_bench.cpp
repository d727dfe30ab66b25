// pump_plain and pump_tls: the stream pump's throughput between two agent
// processes, measured as a non-live tunnelled migration of an idle test
// domain (the guest is paused first and its RAM crosses the pumps once).
// Baselines: a raw loopback TCP copy (plain) and single-core AES-256-GCM
// (TLS). The same domain migrated p2p (hypervisor to hypervisor, no pump)
// is reported too (pump_plain_native): the ceiling the test hypervisor
// itself sets.

#include <iostream>
#include <string>

#include "tools/bench/baselines.hpp"
#include "tools/bench/bench.hpp"
#include "tools/bench/bench_cluster.hpp"

namespace ferry::bench {

namespace {

/// MiB/s of one migration of a fresh `mib` MiB idle domain a -> b.
double migrate_rate(bench_cluster& c, const std::string& dom, unsigned mib,
                    std::vector<std::string> flags) {
  c.define_and_start("a", dom, test_xml(dom, mib));
  auto res = c.migrate("a", "b", dom, std::move(flags));
  c.ok("b", {"destroy", dom});
  c.ok("a", {"undefine", dom});
  auto ms = res.value("total_ms", 0.0);
  auto bytes = res.value("bytes", 0.0);
  if (ms <= 0 || bytes < mib * 1024.0 * 1024.0)
    throw std::runtime_error("migration of " + dom + " moved too little: "
                             + res.dump());
  return bytes / (1024.0 * 1024.0) / (ms / 1000);
}

void run_pump(const options& opt, const sink& out, bool tls) {
  const char* name = tls ? "pump_tls" : "pump_plain";
  unsigned mib = opt.quick ? 128 : 1024;
  int reps = opt.quick ? 1 : 3;
  bench_cluster c{std::string{"ferry-bench-"} + name};
  c.start_node("a", tls);
  c.start_node("b", tls);
  std::vector<double> pump, native;
  for (int i = 0; i < reps; ++i) {
    auto tag = std::to_string(i);
    pump.push_back(
      migrate_rate(c, "tun" + tag, mib, {"--p2p", "--tunnelled"}));
    if (!tls)
      native.push_back(migrate_rate(c, "nat" + tag, mib, {"--p2p"}));
  }
  uint64_t bytes = uint64_t{mib} << 20;
  double base = tls ? aes_256_gcm_mibps(bytes) : raw_tcp_copy_mibps(bytes);
  auto what = std::to_string(mib) + " MiB, median of " + std::to_string(reps);
  out({name, median(pump), "MiB/s", base,
       "tunnelled " + what + " vs "
         + (tls ? "AES-256-GCM 1 core" : "raw loopback TCP copy")});
  if (!tls)
    out({"pump_plain_native", median(native), "MiB/s", base,
         "p2p (no pump) " + what + " vs raw loopback TCP copy"});
}

} // namespace

void run_pump_plain(const options& opt, const sink& out) {
  run_pump(opt, out, false);
}

void run_pump_tls(const options& opt, const sink& out) {
  run_pump(opt, out, true);
}

} // namespace ferry::bench
