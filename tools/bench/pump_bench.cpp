// pump_plain and pump_tls: the stream pumps' throughput between two agent
// processes, measured with `ferry netcheck` (the pumps, chunking, credit
// window and agent-to-agent CAF connection of a --p2p --tunnelled
// migration, with a feeder and a drain thread in place of the hypervisors;
// the destination checks every byte's position). Baselines: a raw loopback
// TCP copy (plain) and single-core AES-256-GCM (TLS).
//
// Beside them: pump_plain_relay, the same fd -> TCP -> fd path relayed by
// plain threads without an actor system (the ceiling of any tunnel with
// socketpair ends here), and the pumps as a migration sees them: a
// non-live tunnelled migration of an idle test domain (_migration), and
// the same domain p2p without any pump (pump_plain_native), which is the
// test hypervisor's own ceiling.

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

/// MiB/s of one `ferry netcheck` of `mib` MiB a -> b.
double netcheck_rate(bench_cluster& c, unsigned mib) {
  auto out = c.ok("a", {"--json", "netcheck", "--size", std::to_string(mib),
                        c.at("b").uri("test")});
  auto res = nlohmann::json::parse(out, nullptr, false);
  if (!res.is_object() || res.value("bytes", 0.0) != mib * 1048576.0)
    throw std::runtime_error("netcheck: unexpected result " + out);
  return res.value("mibps", 0.0);
}

void run_pump(const options& opt, const sink& out, bool tls) {
  std::string name = tls ? "pump_tls" : "pump_plain";
  unsigned mib = opt.quick ? 128 : 1024;
  int reps = opt.quick ? 1 : 3;
  bench_cluster c{"ferry-bench-" + name};
  c.start_node("a", tls);
  c.start_node("b", tls);
  std::vector<double> pump, migrated, native;
  for (int i = 0; i < reps; ++i) {
    auto tag = std::to_string(i);
    pump.push_back(netcheck_rate(c, mib));
    migrated.push_back(
      migrate_rate(c, "tun" + tag, mib, {"--p2p", "--tunnelled"}));
    if (!tls)
      native.push_back(migrate_rate(c, "nat" + tag, mib, {"--p2p"}));
  }
  uint64_t bytes = uint64_t{mib} << 20;
  // Each baseline run is short (a fraction of a second): the median of
  // three keeps one unlucky scheduling slot from setting every ratio.
  std::vector<double> bases;
  for (int i = 0; i < 3; ++i)
    bases.push_back(tls ? aes_256_gcm_mibps(bytes) : raw_tcp_copy_mibps(bytes));
  double base = median(bases);
  auto what = std::to_string(mib) + " MiB, median of " + std::to_string(reps);
  auto vs = std::string{" vs "}
            + (tls ? "AES-256-GCM 1 core" : "raw loopback TCP copy");
  out({name, median(pump), "MiB/s", base, "netcheck " + what + vs});
  if (!tls)
    out({"pump_plain_relay",
         median({socket_relay_mibps(bytes), socket_relay_mibps(bytes),
                 socket_relay_mibps(bytes)}),
         "MiB/s", base,
         "socketpair-TCP-socketpair relay, no CAF, " + std::to_string(mib)
           + " MiB, median of 3" + vs});
  out({name + "_migration", median(migrated), "MiB/s", base,
       "tunnelled migration of a test domain " + what + vs});
  if (!tls)
    out({"pump_plain_native", median(native), "MiB/s", base,
         "p2p (no pump) " + what + vs});
}

} // namespace

void run_pump_plain(const options& opt, const sink& out) {
  run_pump(opt, out, false);
}

void run_pump_tls(const options& opt, const sink& out) {
  run_pump(opt, out, true);
}

} // namespace ferry::bench
