#include "tools/bench/bench_cluster.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "util/files.hpp"

namespace ferry::bench {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(
           std::chrono::steady_clock::now() - t0)
    .count();
}

double median(std::vector<double> xs) {
  return percentile(std::move(xs), 50);
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  // Nearest rank: the smallest sample with at least p% at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100 * xs.size()));
  return xs[std::min(xs.size() - 1, rank > 0 ? rank - 1 : 0)];
}

std::string test_xml(const std::string& name, unsigned mib, double dirty_rate,
                     unsigned working_set_mib) {
  std::string xml = "<domain type='test'><name>" + name
                    + "</name><memory unit='MiB'>" + std::to_string(mib)
                    + "</memory><vcpu>1</vcpu>";
  if (dirty_rate > 0)
    xml += "<workload dirty-rate='"
           + std::to_string(static_cast<unsigned>(dirty_rate))
           + "' working-set='"
           + std::to_string(std::min(working_set_mib, mib)) + "'/>";
  return xml + "</domain>";
}

bench_cluster::bench_cluster(const std::string& label) : cl_(label) {
  if (auto* keep = std::getenv("FERRY_BENCH_KEEP"); keep != nullptr && *keep) {
    cl_.keep(); // agents' logs and state stay for a post-mortem
    std::cerr << "ferry-bench: keeping " << cl_.dir() << std::endl;
  }
}

harness::node& bench_cluster::start_node(const std::string& name, bool tls,
                                         std::vector<std::string> drivers) {
  harness::node_options opts;
  opts.tls = tls;
  opts.drivers = std::move(drivers);
  auto& n = cl_.add_node(name, std::move(opts));
  auto err = n.start();
  if (!err.empty())
    throw std::runtime_error(err);
  return n;
}

harness::cli_result bench_cluster::run(const std::string& node,
                                       std::vector<std::string> args,
                                       const std::string& driver) {
  args.insert(args.begin(), {"-c", cl_.at(node).uri(driver)});
  return cl_.cli(args);
}

std::string bench_cluster::ok(const std::string& node,
                              std::vector<std::string> args,
                              const std::string& driver) {
  auto r = run(node, args, driver);
  if (r.rc != 0) {
    std::string cmd;
    for (auto& a : args)
      cmd += " " + a;
    throw std::runtime_error("ferry" + cmd + " failed (" + std::to_string(r.rc)
                             + "): " + r.err + "\n" + node + "'s log:\n"
                             + cl_.at(node).log_tail(15));
  }
  return r.out;
}

void bench_cluster::define_and_start(const std::string& node,
                                     const std::string& name,
                                     const std::string& xml,
                                     const std::string& driver) {
  auto path = cl_.dir() + "/" + name + ".xml";
  if (auto err = files::write_atomic(path, xml))
    throw std::runtime_error("cannot write " + path);
  ok(node, {"define", path}, driver);
  ok(node, {"start", name}, driver);
}

nlohmann::json bench_cluster::migrate(const std::string& src,
                                      const std::string& dst,
                                      const std::string& dom,
                                      std::vector<std::string> flags,
                                      const std::string& driver) {
  std::vector<std::string> args{"--json", "migrate"};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(dom);
  args.push_back(cl_.at(dst).uri(driver));
  auto t0 = std::chrono::steady_clock::now();
  auto out = ok(src, args, driver);
  auto wall = ms_since(t0);
  auto res = nlohmann::json::parse(out, nullptr, false);
  // The test hypervisor's stream ends with a digest the destination
  // compares; QEMU's has none, so its results say false.
  bool want_digest = driver != "qemu";
  if (!res.is_object()
      || (want_digest && !res.value("digest_verified", false)))
    throw std::runtime_error("migrate " + dom + ": unexpected result " + out);
  res["wall_ms"] = wall;
  return res;
}

std::vector<std::string> bench_cluster::cli_argv(const std::string& node,
                                                 const std::string& driver) {
  return {cl_.tools() + "/ferry", "-c",
          cl_.at(node).uri(driver)};
}

std::string bench_cluster::pki_env() {
  return "FERRY_PKI_DIR=" + cl_.client_pki("admin");
}

} // namespace ferry::bench
