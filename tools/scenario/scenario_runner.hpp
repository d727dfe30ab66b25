#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>

#include "messages/migration.hpp"
#include "tools/cli/cli_context.hpp"
#include "tools/harness/cluster.hpp"
#include "tools/harness/netns.hpp"
#include "tools/lang/interpreter.hpp"
#include "tools/scenario/link_proxy.hpp"

namespace ferry::scenario {

/// A migration started by a scenario, possibly in the background.
struct job_run {
  std::string name;
  std::string source;
  std::string domain;
  std::thread thread;
  std::atomic<bool> done{false};
  caf::error result;
  std::string output;
  std::mutex stats_mtx;
  job_stats last_stats; ///< Last progress seen (for failure reports).
};

/// Runs one scenario file: a fresh cluster of real ferryd processes on
/// loopback, or each in its own network namespace of `net`, driven by the
/// scenario language (docs/scenarios.md).
class scenario_runner {
public:
  /// `sys` must have ferry's message types and a TLS layer for `client_pki`.
  /// `net` (may be null: loopback and link proxies) places the nodes.
  scenario_runner(caf::actor_system& sys, harness::cluster& cl,
                  tls_settings client_tls, std::ostream& log, bool verbose,
                  harness::netns_network* net = nullptr);
  ~scenario_runner();

  /// Runs every line; stops at the first failure. Returns "" on success
  /// (or when the file was skipped, see skipped()), else a report: the
  /// failing line, the reason, each node's log tail and the last progress
  /// of every job.
  std::string run_file(const std::string& path);
  /// Why the file was skipped (a `require` it does not meet), or "".
  const std::string& skipped() const {
    return skip_reason_;
  }

private:
  void register_verbs();
  void add_node_verbs();
  void add_job_verbs();
  void add_fault_verbs();
  void add_expect_verbs();

  cli::context& ctx(const std::string& node);
  /// Client settings for talking to `node` (our TLS identity).
  client_settings settings_for(const std::string& node, bool json) const;
  void forget_sessions(const std::string& node);
  harness::node& node(const std::string& name);
  /// Runs a CLI verb on `node`, capturing its output.
  caf::error cli_on(const std::string& node,
                    const std::vector<std::string>& words, std::string* out,
                    bool json = false);
  std::string uri_for(const std::string& from, const std::string& to,
                      bool direct);
  /// Replaces `{NODE}` in `text` with NODE's address.
  std::string expand_addresses(const std::string& text);
  /// Cuts, restores or delays the link between two nodes: netns rules, or
  /// the link proxies on loopback. Returns "" or the reason.
  std::string link_fault(const std::string& kind, const std::string& a,
                         const std::string& b,
                         std::chrono::milliseconds delay = {});
  link_proxy& link(const std::string& from, const std::string& to,
                   bool hypervisor);
  /// State of `dom` on `node`: running, paused, shut off, absent, or down.
  std::string state_of(const std::string& node, const std::string& dom);
  caf::expected<job_stats> job_info(cli::context& c, const std::string& dom);
  void start_trigger(const std::vector<std::string>& words, size_t at,
                     std::function<void()> act);
  std::string report(const std::string& where, const std::string& why);

  caf::actor_system& sys_;
  harness::cluster& cl_;
  tls_settings tls_;
  std::ostream& log_;
  bool verbose_;
  harness::netns_network* net_;
  std::string skip_reason_;
  lang::interpreter interp_;
  std::map<std::string, std::unique_ptr<cli::context>> ctx_;
  std::map<std::string, std::unique_ptr<job_run>> jobs_;
  std::map<std::string, std::string> saved_;
  std::mutex links_mtx_; ///< links_ grows while triggers look it up
  std::map<std::string, std::unique_ptr<link_proxy>> links_;
  std::vector<std::thread> triggers_;
  std::mutex trigger_mtx_;
  std::vector<std::string> trigger_errors_; ///< Faults that never fired.
  std::atomic<bool> stopping_{false};
  caf::error last_;
  std::string last_output_;
  int anonymous_jobs_ = 0;
};

/// Parses `500ms`, `2s`, `1.5s` or a bare number of milliseconds.
caf::expected<std::chrono::milliseconds> parse_duration(const std::string& s);

} // namespace ferry::scenario
