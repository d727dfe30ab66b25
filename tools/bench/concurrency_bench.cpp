// concurrency: 32 p2p migrations started at once (32 CLI processes) against
// one migration alone, same domain size. Rate = bytes moved / wall time
// from the first CLI's start to the last one's exit.

#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "tools/bench/bench.hpp"
#include "tools/bench/bench_cluster.hpp"
#include "util/files.hpp"
#include "util/process.hpp"

namespace ferry::bench {

namespace {

/// Concurrent migrations of the full run (--quick: 8, a smoke test).
constexpr int full_parallel = 32;

/// Starts `ferry --json migrate --live --p2p DOM DEST` without waiting.
pid_t start_migrate(bench_cluster& c, const std::string& dom,
                    const std::string& out_path) {
  process::spawn_request req;
  req.argv = c.cli_argv("a");
  req.argv.insert(req.argv.end(), {"--json", "migrate", "--live", "--p2p",
                                   dom, c.at("b").uri()});
  req.env.push_back(c.pki_env());
  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  req.stdout_fd = fd;
  req.stderr_fd = fd;
  std::string err;
  auto pid = process::spawn(req, err);
  ::close(fd);
  if (pid < 0)
    throw std::runtime_error("cannot start the CLI: " + err);
  return pid;
}

/// Migrates `doms` concurrently; returns MiB/s over the wall time.
double run_batch(bench_cluster& c, const std::vector<std::string>& doms) {
  std::vector<pid_t> pids;
  auto t0 = std::chrono::steady_clock::now();
  for (auto& d : doms)
    pids.push_back(start_migrate(c, d, c.raw().dir() + "/" + d + ".out"));
  std::string failures;
  for (size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    if (!process::wait_exit(pids[i], 300000, &status) || status != 0) {
      auto text = files::read(c.raw().dir() + "/" + doms[i] + ".out");
      failures += doms[i] + ": " + (text ? *text : "?") + "\n";
    }
  }
  auto wall = ms_since(t0);
  if (!failures.empty())
    throw std::runtime_error("concurrent migrations failed:\n" + failures);
  double bytes = 0;
  for (auto& d : doms) {
    auto text = files::read(c.raw().dir() + "/" + d + ".out");
    auto res = nlohmann::json::parse(text ? *text : "", nullptr, false);
    if (!res.is_object() || !res.value("digest_verified", false))
      throw std::runtime_error(d + ": unexpected result");
    bytes += res.value("bytes", 0.0);
  }
  return bytes / (1024.0 * 1024.0) / (wall / 1000);
}

} // namespace

void run_concurrency(const options& opt, const sink& out) {
  unsigned mib = opt.quick ? 8 : 64;
  int parallel = opt.quick ? 8 : full_parallel;
  int single_reps = 3;
  bench_cluster c{"ferry-bench-conc"};
  c.start_node("a");
  c.start_node("b");
  std::vector<double> single;
  for (int i = 0; i < single_reps; ++i) {
    auto dom = "one" + std::to_string(i);
    c.define_and_start("a", dom, test_xml(dom, mib));
    single.push_back(run_batch(c, {dom}));
  }
  std::vector<std::string> doms;
  for (int i = 0; i < parallel; ++i) {
    doms.push_back("many" + std::to_string(i));
    c.define_and_start("a", doms.back(), test_xml(doms.back(), mib));
  }
  auto aggregate = run_batch(c, doms);
  out({"concurrency", aggregate, "MiB/s", median(single),
       std::to_string(parallel) + " x " + std::to_string(mib)
         + " MiB p2p at once vs one alone (median of "
         + std::to_string(single_reps) + ")"});
}

} // namespace ferry::bench
