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

#include <unistd.h>

#include "tools/bench/baselines.hpp"
#include "tools/bench/bench.hpp"
#include "tools/bench/bench_cluster.hpp"
#include "tools/bench/cpu_usage.hpp"

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

/// Throughput and what it cost: CPU milliseconds per GiB moved.
struct rate_and_cpu {
  double mibps = 0;
  double cpu_ms_per_gib = 0;
};

double per_gib(double cpu_ms, uint64_t bytes) {
  return cpu_ms * static_cast<double>(uint64_t{1} << 30)
         / static_cast<double>(bytes);
}

/// One `ferry netcheck` of `mib` MiB a -> b, and both agents' CPU time.
rate_and_cpu netcheck_rate(bench_cluster& c, unsigned mib) {
  cpu_usage cpu{{c.at("a").pid(), c.at("b").pid()}};
  auto out = c.ok("a", {"--json", "netcheck", "--size", std::to_string(mib),
                        c.at("b").uri("test")});
  auto res = nlohmann::json::parse(out, nullptr, false);
  if (!res.is_object() || res.value("bytes", 0.0) != mib * 1048576.0)
    throw std::runtime_error("netcheck: unexpected result " + out);
  return {res.value("mibps", 0.0),
          per_gib(cpu.process_ms(), uint64_t{mib} << 20)};
}

/// The relay baseline (in this process's threads), and its CPU time.
rate_and_cpu relay_rate(uint64_t bytes) {
  cpu_usage cpu{{::getpid()}};
  auto mibps = socket_relay_mibps(bytes);
  return {mibps, per_gib(cpu.process_ms(), bytes)};
}

void run_pump(const options& opt, const sink& out, bool tls) {
  std::string name = tls ? "pump_tls" : "pump_plain";
  unsigned mib = opt.quick ? 128 : 1024;
  int reps = opt.quick ? 1 : 3;
  bench_cluster c{"ferry-bench-" + name};
  c.start_node("a", tls);
  c.start_node("b", tls);
  std::vector<double> pump, pump_cpu, migrated, native;
  for (int i = 0; i < reps; ++i) {
    auto tag = std::to_string(i);
    auto check = netcheck_rate(c, mib);
    pump.push_back(check.mibps);
    pump_cpu.push_back(check.cpu_ms_per_gib);
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
  // What a GiB costs in CPU (both agents, feeder and drain included)
  // against the same path relayed by plain threads: the tunnel's own cost,
  // which decides how much it slows a migration on a busy machine.
  std::vector<double> relay, relay_cpu;
  for (int i = 0; i < 3; ++i) {
    auto r = relay_rate(bytes);
    relay.push_back(r.mibps);
    relay_cpu.push_back(r.cpu_ms_per_gib);
  }
  out({name + "_cpu", median(pump_cpu), "ms/GiB", median(relay_cpu),
       "both agents' CPU time per GiB of netcheck vs the plain-thread "
       "relay's"});
  if (!tls)
    out({"pump_plain_relay", median(relay), "MiB/s", base,
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
