#pragma once

// The attack suite's fixture: one real agent with an ACL, a running guest,
// an in-process actor system that knows ferry's message types (to write
// and read messages as a hostile client would), and the checks every
// attack ends with: the agent still runs, serves a legitimate client, and
// nothing it keeps (domains, their definitions, its journal) changed.

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "messages/all.hpp"
#include "messages/types.hpp"
#include "tests/integration/fixture.hpp"
#include "tests/security/raw_peer.hpp"

namespace ferry::attack {

/// Roles of the identities the suite uses (the agent's ACL).
inline std::vector<std::string> attack_acl() {
  return {"--acl", "admin=admin", "--acl", "viewer=read",
          "--acl", "agent-*=peer"};
}

struct types_only_config : caf::actor_system_config {
  types_only_config() {
    ferry::add_message_types(*this);
  }
};

class attack_test : public ferry::test::cluster_test {
protected:
  types_only_config cfg;
  caf::actor_system sys{cfg};

  /// Starts agent `name` with the suite's ACL and a running guest `web`.
  harness::node& start_target(const std::string& name = "a",
                              harness::node_options o = {}) {
    if (o.extra_args.empty())
      o.extra_args = attack_acl();
    auto& n = start_node(name, o);
    ok(name, {"define", xml_file("web", test::test_domain_xml("web", 16))});
    ok(name, {"start", "web"});
    return n;
  }

  tls_settings tls_of(const std::string& cn) {
    return cl.client_tls(cn);
  }

  /// A raw connection to `node` with `cn`'s certificate (plain TCP when
  /// the node runs without TLS).
  std::unique_ptr<raw_peer> connect(const std::string& node,
                                    const std::string& cn = "viewer") {
    auto& n = cl.at(node);
    auto tls = tls_of(cn);
    auto p = raw_peer::open(n.options().host, n.options().port,
                            n.options().tls ? &tls : nullptr);
    EXPECT_TRUE(p) << error_text(p.error());
    return p ? std::move(*p) : nullptr;
  }

  /// Connects and runs BASP's handshake; returns the gatekeeper's id.
  uint64_t connect_basp(const std::string& node, std::unique_ptr<raw_peer>& p,
                        const std::string& cn = "viewer") {
    p = connect(node, cn);
    if (!p)
      return 0;
    auto gk = p->handshake(fresh_node_id());
    EXPECT_TRUE(gk) << error_text(gk.error());
    return gk ? *gk : 0;
  }

  /// Connects, runs BASP's handshake and logs in as `cn`.
  login_result log_in(const std::string& node, std::unique_ptr<raw_peer>& p,
                      const std::string& cn = "viewer") {
    auto gk = connect_basp(node, p, cn);
    if (!p)
      return {};
    auto tls = tls_of(cn);
    auto& n = cl.at(node);
    auto res = p->login(sys, n.options().tls ? &tls : nullptr, cn, gk);
    EXPECT_TRUE(res) << error_text(res.error());
    return res ? *res : login_result{};
  }

  /// Sends `msg` (as request `request_id`, or a plain message for 0) to
  /// every actor id from 1 to `last` but the gatekeeper's, each on a fresh
  /// connection as `cn`, since a refusal closes the connection. Returns
  /// how many ids were tried and how many connections the agent closed.
  std::pair<size_t, size_t> probe_every_id(const std::string& node,
                                           const std::string& cn,
                                           uint64_t last,
                                           const caf::message& msg,
                                           uint64_t request_id = 0) {
    size_t tried = 0;
    size_t closed = 0;
    for (uint64_t id = 1; id <= last; ++id) {
      std::unique_ptr<raw_peer> p;
      auto gk = connect_basp(node, p, cn);
      if (gk == 0 || id == gk)
        continue;
      ++tried;
      p->send_message(sys, 7, id, msg, request_id);
      closed += p->closed_within(3s) ? 1 : 0;
    }
    return {tried, closed};
  }

  /// What the agent keeps: its domains and their states, their
  /// definitions, and its journal's records.
  std::string snapshot(const std::string& node) {
    std::string out = on(node, {"list", "--all"}).out;
    out += on(node, {"dumpxml", "web"}).out;
    auto jobs = cl.at(node).options().state_dir + "/jobs";
    std::vector<std::string> names;
    if (auto* dir = ::opendir(jobs.c_str())) {
      while (auto* e = ::readdir(dir))
        names.push_back(e->d_name);
      ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    for (auto& name : names) {
      std::ifstream in{jobs + "/" + name};
      std::stringstream text;
      text << in.rdbuf();
      out += "\n--- " + name + "\n" + text.str();
    }
    return out;
  }

  /// The agent process runs and answers an admin.
  void expect_answering(const std::string& node) {
    EXPECT_TRUE(cl.at(node).running()) << cl.at(node).log_tail(20);
    auto r = on(node, {"list", "--all"});
    EXPECT_EQ(r.rc, 0) << r.err;
  }

  /// The agent answers an admin and its guest `web` still runs.
  void expect_serving(const std::string& node) {
    expect_answering(node);
    EXPECT_EQ(state_of(node, "web"), "running");
  }

  /// An admin's `list --all` must succeed despite whatever the test is
  /// doing to the agent; how long it took is printed and recorded as
  /// `property` (a measurement, not asserted).
  void expect_admin_served(const std::string& node, const std::string& label,
                           const std::string& property) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = on(node, {"list", "--all"});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count();
    EXPECT_EQ(r.rc, 0) << r.err;
    std::cout << "[ security ] admin's list " << label << ": " << ms << " ms"
              << std::endl;
    RecordProperty(property, std::to_string(ms));
  }

  /// The agent's resident memory, in KiB (from /proc).
  long rss_kib(const std::string& node) {
    std::ifstream in{"/proc/" + std::to_string(cl.at(node).pid()) + "/status"};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0)
        return std::stol(line.substr(6));
    return -1;
  }

  /// Whether the agent logged `text` (since it started).
  bool logged(const std::string& node, const std::string& text) {
    return cl.at(node).log().find(text) != std::string::npos;
  }
};

} // namespace ferry::attack
