// qemu_tunnelled and qemu_small: real QEMU (TCG) guests running ferry's
// test guest, which fills all of its RAM and then keeps writing a window.
// qemu_tunnelled: a 1 GiB guest migrated live, tunnelled over ferry+tcp and
// over ferry+tls, against the native p2p data path (QEMU to QEMU).
// qemu_small: a 16 MiB guest migrated p2p, timed from the CLI's start to
// its exit, against a trivial CLI request (dominfo) on the same agent.

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "tools/bench/bench.hpp"
#include "tools/bench/bench_cluster.hpp"
#include "tools/bench/cpu_usage.hpp"

namespace ferry::bench {

namespace {

std::string guest_kernel() {
  if (auto* env = std::getenv("FERRY_TEST_GUEST"); env != nullptr && *env)
    return env;
  return harness::tools_dir() + "/../drivers/qemu/guest/ferry-test-guest.bin";
}

std::string qemu_xml(const std::string& name, unsigned mib,
                     unsigned working_set_mib) {
  auto kernel = guest_kernel();
  if (::access(kernel.c_str(), R_OK) != 0)
    throw std::runtime_error("QEMU test guest " + kernel
                             + " is missing (install nasm and rebuild, or "
                               "set FERRY_TEST_GUEST)");
  return "<domain type='qemu'><name>" + name + "</name><memory unit='MiB'>"
         + std::to_string(mib) + "</memory><vcpu>1</vcpu><os><kernel>"
         + kernel + "</kernel></os><workload working-set='"
         + std::to_string(working_set_mib) + "'/></domain>";
}

/// Starts a guest, waits until it reports its RAM written, migrates it live from
/// `src` to `dst` and cleans up. The result also says how much CPU the two
/// agents used (`agents_cpu_ms`) and how busy the machine was
/// (`machine_busy`, 0..1) during the migration. Checks that nearly all RAM moved (zero
/// pages travel as a few bytes, so this proves the RAM was written).
nlohmann::json run_guest(bench_cluster& c, const std::string& src,
                         const std::string& dst, const std::string& dom,
                         unsigned mib, std::vector<std::string> flags) {
  c.define_and_start(src, dom, qemu_xml(dom, mib, mib >= 64 ? 16 : 1), "qemu");
  if (!c.at(src).wait_guest_filled(dom, 120000))
    throw std::runtime_error("guest " + dom
                             + " did not report its RAM written in 120 s");
  flags.insert(flags.begin(), "--live");
  cpu_usage cpu{{c.at(src).pid(), c.at(dst).pid()}};
  auto res = c.migrate(src, dst, dom, std::move(flags), "qemu");
  res["agents_cpu_ms"] = cpu.process_ms();
  res["machine_busy"] = cpu.machine_busy();
  c.ok(dst, {"destroy", dom}, "qemu");
  c.ok(src, {"undefine", dom}, "qemu");
  auto bytes = res.value("bytes", 0.0);
  if (bytes < 0.9 * mib * 1024 * 1024)
    throw std::runtime_error("guest " + dom + " moved only "
                             + std::to_string(bytes / 1048576)
                             + " MiB: its RAM was not written: "
                             + res.dump());
  return res;
}

} // namespace

void run_qemu_tunnelled(const options& opt, const sink& out) {
  unsigned mib = opt.quick ? 128 : 1024;
  int reps = opt.quick ? 1 : 3;
  bench_cluster c{"ferry-bench-qemu"};
  c.start_node("a", true, {"qemu"});
  c.start_node("b", true, {"qemu"});
  c.start_node("tcpa", false, {"qemu"});
  c.start_node("tcpb", false, {"qemu"});
  // Per process: wall time, both agents' CPU time, the machine's busy share.
  struct samples {
    std::vector<double> ms, agents_cpu_ms, busy;
    void add(const nlohmann::json& res) {
      ms.push_back(res.value("total_ms", 0.0));
      agents_cpu_ms.push_back(res.value("agents_cpu_ms", 0.0));
      busy.push_back(100 * res.value("machine_busy", 0.0));
    }
  };
  samples native, plain, tls;
  for (int i = 0; i < reps; ++i) {
    auto tag = std::to_string(i);
    native.add(run_guest(c, "a", "b", "nat" + tag, mib, {"--p2p"}));
    plain.add(run_guest(c, "tcpa", "tcpb", "tcp" + tag, mib,
                        {"--p2p", "--tunnelled"}));
    tls.add(run_guest(c, "a", "b", "tls" + tag, mib, {"--p2p", "--tunnelled"}));
  }
  auto what = std::to_string(mib) + " MiB written guest, median of "
              + std::to_string(reps);
  auto native_ms = median(native.ms);
  out({"qemu_tunnelled", median(plain.ms), "ms", native_ms,
       "tunnelled over ferry+tcp, " + what + " vs native p2p"});
  out({"qemu_tunnelled_tls", median(tls.ms), "ms", native_ms,
       "tunnelled over ferry+tls, " + what + " vs native p2p"});
  // Why the ratios are what they are: how busy the two cores already are
  // natively, and how much CPU the agents add when they carry the stream.
  out({"qemu_native_busy", median(native.busy), "%", 100.0,
       "machine busy during native p2p (all CPUs), " + what});
  out({"qemu_tunnelled_agent_cpu", median(plain.agents_cpu_ms), "ms",
       native_ms,
       "both agents' CPU time tunnelled over ferry+tcp, " + what
         + " vs native p2p wall time"});
  out({"qemu_tunnelled_tls_agent_cpu", median(tls.agents_cpu_ms), "ms",
       native_ms,
       "both agents' CPU time tunnelled over ferry+tls, " + what
         + " vs native p2p wall time"});
}

void run_qemu_small(const options& opt, const sink& out) {
  int reps = opt.quick ? 3 : 10;
  bench_cluster c{"ferry-bench-qsmall"};
  c.start_node("a", true, {"qemu"});
  c.start_node("b", true, {"qemu"});
  std::vector<double> wall, agent, trivial;
  for (int i = 0; i < reps; ++i) {
    auto dom = "small" + std::to_string(i);
    auto res = run_guest(c, "a", "b", dom, 16, {"--p2p"});
    wall.push_back(res.value("wall_ms", 0.0));
    agent.push_back(res.value("total_ms", 0.0));
    auto t0 = std::chrono::steady_clock::now();
    c.ok("a", {"nodeinfo"}, "qemu");
    trivial.push_back(ms_since(t0));
  }
  auto what = " of " + std::to_string(reps) + ", 16 MiB guest p2p";
  out({"qemu_small", median(wall), "ms", median(trivial),
       "CLI wall time, median" + what + " vs a trivial CLI call (nodeinfo)"});
  out({"qemu_small_agent", median(agent), "ms", median(wall),
       "agent's job time, median" + what + " vs the CLI wall time"});
}

} // namespace ferry::bench
