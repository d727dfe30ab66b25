#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tools/harness/cluster.hpp"

namespace ferry::test {

/// Domain XML of a test-driver guest.
inline std::string test_domain_xml(const std::string& name, unsigned mib,
                                   double dirty_rate = 0,
                                   unsigned working_set_mib = 0) {
  std::string xml = "<domain type='test'><name>" + name
                    + "</name><memory unit='MiB'>" + std::to_string(mib)
                    + "</memory><vcpu>1</vcpu>";
  if (dirty_rate > 0)
    xml += "<workload dirty-rate='" + std::to_string(dirty_rate)
           + "' working-set='"
           + std::to_string(std::min(working_set_mib, mib)) + "'/>";
  return xml + "</domain>";
}

/// A cluster with helpers that make assertions read like the CLI.
class cluster_test : public ::testing::Test {
protected:
  harness::cluster cl{"ferry-it"};

  /// Adds and starts a node; fails the test if it does not come up.
  harness::node& start_node(const std::string& name,
                            harness::node_options opts = {}) {
    auto& n = cl.add_node(name, std::move(opts));
    auto err = n.start();
    EXPECT_EQ(err, "") << err;
    return n;
  }

  /// Runs `ferry -c URI ARGS…`.
  harness::cli_result on(const std::string& node,
                         std::vector<std::string> args,
                         const std::string& cn = "admin") {
    args.insert(args.begin(), {"-c", cl.at(node).uri()});
    return cl.cli(args, cn);
  }

  /// Runs a command that must succeed; returns stdout.
  std::string ok(const std::string& node, std::vector<std::string> args) {
    auto r = on(node, args);
    EXPECT_EQ(r.rc, 0) << join(args) << "\nstdout: " << r.out
                       << "\nstderr: " << r.err << "\nnode log:\n"
                       << cl.at(node).log_tail();
    return r.out;
  }

  /// Runs a command that must fail with one `error: …` line containing
  /// `expected`; returns that line.
  std::string fails(const std::string& node, std::vector<std::string> args,
                    const std::string& expected,
                    const std::string& cn = "admin") {
    auto r = on(node, args, cn);
    EXPECT_NE(r.rc, 0) << join(args) << " unexpectedly succeeded: " << r.out;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos)
      << join(args) << ": expected '" << expected << "' in: " << r.err;
    return r.err;
  }

  /// Writes XML into the cluster directory and returns its path.
  std::string xml_file(const std::string& name, const std::string& xml) {
    auto path = cl.dir() + "/" + name + ".xml";
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(xml.c_str(), f);
    std::fclose(f);
    return path;
  }

  /// The state `list --all` reports for `dom` on `node` ("absent" if none).
  std::string state_of(const std::string& node, const std::string& dom) {
    auto r = on(node, {"--json", "list", "--all"});
    if (r.rc != 0)
      return "error: " + r.err;
    auto key = "\"name\":\"" + dom + "\"";
    auto pos = r.out.find(key);
    if (pos == std::string::npos)
      return "absent";
    auto obj_start = r.out.rfind('{', pos);
    auto st = r.out.find("\"state\":\"", obj_start);
    auto end = r.out.find('"', st + 9);
    return r.out.substr(st + 9, end - st - 9);
  }

  static std::string join(const std::vector<std::string>& args) {
    std::string out;
    for (auto& a : args)
      out += (out.empty() ? "" : " ") + a;
    return out;
  }
};

} // namespace ferry::test
