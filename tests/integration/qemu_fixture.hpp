#pragma once

// The QEMU tests' fixture: two agents with the qemu driver, and helpers to
// define, start, inspect and migrate guests (tests/integration/qemu_test.cpp,
// tests/integration/linux_guest_test.cpp).

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "tests/integration/fixture.hpp"
#include "util/files.hpp"

namespace ferry::test {

namespace qemu_detail {

/// qemu-system-x86_64 on $PATH, or "".
inline std::string find_qemu() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto candidate = dirs.substr(start, end - start) + "/qemu-system-x86_64";
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return {};
}

} // namespace qemu_detail

class qemu : public cluster_test {
protected:
  void SetUp() override {
    ASSERT_NE(qemu_detail::find_qemu(), "")
      << "qemu-system-x86_64 is not on PATH; install qemu-system-x86 "
         "(--no-install-recommends): the QEMU tests need it";
    guest_ = harness::test_guest_path();
    ASSERT_EQ(::access(guest_.c_str(), R_OK), 0)
      << "test guest kernel " << guest_
      << " is missing: install nasm and rebuild, or set FERRY_TEST_GUEST";
    for (auto name : {"a", "b"}) {
      harness::node_options opts;
      opts.drivers = {"qemu"};
      start_node(name, opts);
    }
  }

  void TearDown() override {
    // A clean stop ends every QEMU; records left by killed agents name the
    // rest.
    for (auto& name : cl.names()) {
      auto& n = cl.at(name);
      n.stop();
      auto dir = n.options().state_dir + "/qemu/run";
      for (auto& file : files::list(dir, ".json")) {
        auto text = files::read(dir + "/" + file);
        auto rec = nlohmann::json::parse(text ? *text : "", nullptr, false);
        auto pid = rec.is_object() ? rec.value("pid", 0) : 0;
        auto cmdline = files::read("/proc/" + std::to_string(pid)
                                   + "/cmdline");
        if (pid > 0 && cmdline && cmdline->find("qemu") != std::string::npos)
          ::kill(pid, SIGKILL);
      }
    }
  }

  /// A test guest; `dirty_rate` (MiB/s) paces its writes, 0 writes as
  /// fast as the vCPU runs.
  std::string qemu_xml(const std::string& name, unsigned mib,
                       unsigned working_set_mib, unsigned dirty_rate = 0) {
    std::string rate;
    if (dirty_rate > 0)
      rate = "dirty-rate='" + std::to_string(dirty_rate) + "' ";
    return "<domain type='qemu'><name>" + name + "</name><memory unit='MiB'>"
           + std::to_string(mib) + "</memory><vcpu>1</vcpu><os><kernel>"
           + guest_ + "</kernel></os><workload " + rate + "working-set='"
           + std::to_string(working_set_mib) + "'/></domain>";
  }

  harness::cli_result q(const std::string& node, std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", uri(node)});
    return cl.cli(args);
  }

  std::string uri(const std::string& node) {
    return cl.at(node).uri("qemu");
  }

  std::string qok(const std::string& node, std::vector<std::string> args) {
    auto r = q(node, args);
    EXPECT_EQ(r.rc, 0) << join(args) << "\nstdout: " << r.out
                       << "\nstderr: " << r.err << "\nnode log:\n"
                       << cl.at(node).log_tail(30);
    return r.out;
  }

  /// A command that must fail with one `error: …` line containing `part`.
  std::string qfails(const std::string& node, std::vector<std::string> args,
                     const std::string& part) {
    auto r = q(node, args);
    EXPECT_NE(r.rc, 0) << join(args) << " unexpectedly succeeded: " << r.out;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos)
      << join(args) << ": expected '" << part << "' in: " << r.err;
    return r.err;
  }

  std::string state(const std::string& node, const std::string& dom) {
    auto r = q(node, {"--json", "list", "--all"});
    auto list = nlohmann::json::parse(r.out, nullptr, false);
    if (r.rc != 0 || !list.is_array())
      return "error: " + r.err;
    for (auto& d : list)
      if (d.value("name", "") == dom)
        return d.value("state", "?");
    return "absent";
  }

  bool wait_state(const std::string& node, const std::string& dom,
                  const std::string& want) {
    for (int i = 0; i < 200; ++i) {
      if (state(node, dom) == want)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return false;
  }

  void start_guest(const std::string& node, const std::string& dom,
                   unsigned mib = 256, unsigned working_set_mib = 32,
                   unsigned dirty_rate = 0) {
    qok(node, {"define",
               xml_file(dom, qemu_xml(dom, mib, working_set_mib, dirty_rate))});
    qok(node, {"start", dom});
    ASSERT_TRUE(cl.at(node).wait_guest_filled(dom))
      << dom << ": the test guest never reported its RAM written";
  }

  /// The pid of the QEMU running `dom` on `node`, from the driver's record.
  pid_t qemu_pid(const std::string& node, const std::string& dom) {
    auto path = cl.at(node).options().state_dir + "/qemu/run/" + dom + ".json";
    auto text = files::read(path);
    if (!text)
      return -1;
    auto rec = nlohmann::json::parse(*text, nullptr, false);
    return rec.is_object() ? rec.value("pid", -1) : -1;
  }

  /// Migrates with --json and returns the result object.
  nlohmann::json migrate(const std::string& dom, std::vector<std::string> flags) {
    std::vector<std::string> args{"--json", "migrate", "--live"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {dom, uri("b")});
    auto out = qok("a", args);
    auto res = nlohmann::json::parse(out, nullptr, false);
    EXPECT_TRUE(res.is_object()) << out;
    return res.is_object() ? res : nlohmann::json::object();
  }

  std::string guest_;
};

} // namespace ferry::test
