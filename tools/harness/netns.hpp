#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tools/harness/delay_line.hpp"

namespace ferry::harness {

/// Where a node lives in a netns_network.
struct netns_place {
  std::string ns;      ///< Network namespace (under /run/netns).
  std::string address; ///< The node's IPv4 address there.
};

/// The agent port of a node in its own namespace (nothing else listens
/// there, so every node uses the same one).
constexpr uint16_t netns_agent_port = 7400;

/// "" if this process can build network namespaces (root, `ip` and
/// `iptables` installed), else a one-line reason.
std::string netns_unavailable();

/// Setup for a process that will run nodes in namespaces. Call it first in
/// main, before any thread exists: it blocks SIGINT, SIGTERM and SIGHUP
/// (a thread then removes every namespace of this run and exits), moves the
/// process into a private network namespace of its own (which holds the
/// bridges and so reaches every node; it vanishes with the process), and
/// removes the namespaces of runs that were killed before they could clean
/// up. Returns "" or the reason.
std::string netns_prepare_process();

/// A virtual network for one cluster: a bridge in this process's namespace
/// and, per node, a namespace `ferry-PID-NODE` joined to it by a veth pair,
/// with address 10.201.K.N/24 (K per network, N per node); the bridge has
/// 10.201.K.254. The network can cut or delay the link between two nodes
/// (iptables rules inside their namespaces, so every path between them is
/// affected: agents' links, hypervisors' data connections, QEMU streams),
/// and the destructor removes everything (processes still in a namespace
/// are killed). Thread-safe (faults fire from trigger threads).
class netns_network {
public:
  netns_network();
  ~netns_network();

  netns_network(const netns_network&) = delete;
  netns_network& operator=(const netns_network&) = delete;

  /// Creates the namespace of `node` (a name of letters, digits, '_', '-'
  /// or '.'). Returns its place, or sets `err`.
  netns_place add(const std::string& node, std::string& err);

  /// Drops every packet between `a` and `b` (both directions, both orders
  /// of the names), silently, like a pulled cable. Returns "" or the reason.
  std::string cut(const std::string& a, const std::string& b);
  /// Removes the cut; connections that survived resume. Idempotent.
  std::string restore(const std::string& a, const std::string& b);
  /// Delays every packet from `a` to `b` and from `b` to `a` by `delay`
  /// (0 removes the delay).
  std::string delay(const std::string& a, const std::string& b,
                    std::chrono::milliseconds delay);

private:
  struct member {
    std::string ns;
    std::string address;
    int index = 0;
  };
  const member* find(const std::string& node, std::string& err) const;
  /// Inserts (`on`) or deletes the DROP rules between two nodes.
  std::string set_cut(const std::string& a, const std::string& b, bool on);
  /// Runs iptables inside `ns`.
  std::string iptables(const std::string& ns,
                       const std::vector<std::string>& args);

  std::mutex mtx_;
  int subnet_ = 0;
  std::string bridge_;
  std::string prefix_; ///< "10.201.K."
  std::map<std::string, member> members_;
  std::set<std::pair<std::string, std::string>> cuts_;
  std::set<std::pair<std::string, std::string>> delayed_; ///< directed
  std::unique_ptr<delay_line> delays_;
};

} // namespace ferry::harness
