// Lifecycle events across real agents: `ferry event` on the source and the
// destination while a domain migrates (virsh event --loop).

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

class events : public cluster_test {
protected:
  void SetUp() override {
    start_node("a");
    start_node("b");
  }

  /// Starts `ferry event --loop --count N` on `node` in the background and
  /// waits until the agent has its subscription (its `subscriber added`
  /// log line), so that no event of the test is missed. One at a time: the
  /// harness numbers its runs from the calling thread.
  std::future<harness::cli_result> watch(const std::string& node,
                                         unsigned count,
                                         std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"event", "--loop", "--count",
                                  std::to_string(count), "--timeout", "60"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto before = subscriptions(node);
    auto fut = std::async(std::launch::async,
                          [this, node, args] { return on(node, args); });
    for (int i = 0; i < 200 && subscriptions(node) == before; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    EXPECT_GT(subscriptions(node), before) << cl.at(node).log_tail();
    return fut;
  }

  size_t subscriptions(const std::string& node) {
    auto log = cl.at(node).log();
    size_t n = 0;
    for (auto pos = log.find("subscriber added"); pos != std::string::npos;
         pos = log.find("subscriber added", pos + 1))
      ++n;
    return n;
  }

  /// The `event 'lifecycle' …` lines of a run.
  static std::vector<std::string> event_lines(const std::string& out) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < out.size()) {
      auto end = out.find('\n', pos);
      auto line = out.substr(pos, end - pos);
      if (line.rfind("event 'lifecycle'", 0) == 0)
        lines.push_back(line);
      if (end == std::string::npos)
        break;
      pos = end + 1;
    }
    return lines;
  }

  void start_domain(const std::string& node, const std::string& name,
                    unsigned mib = 64) {
    ok(node, {"define", xml_file(name, test_domain_xml(name, mib, 32, 32))});
    ok(node, {"start", name});
  }
};

} // namespace

TEST_F(events, p2p_migration_stops_on_the_source_and_starts_on_the_dest) {
  start_domain("a", "web1");
  auto src = watch("a", 1);
  auto dst = watch("b", 2, {"--domain", "web1"});
  auto out = ok("a", {"migrate", "--live", "--p2p", "web1", cl.at("b").uri()});
  auto s = src.get();
  auto d = dst.get();
  ASSERT_EQ(s.rc, 0) << s.err << cl.at("a").log_tail();
  ASSERT_EQ(d.rc, 0) << d.err << cl.at("b").log_tail();
  auto sl = event_lines(s.out);
  auto dl = event_lines(d.out);
  ASSERT_EQ(sl.size(), 1u) << s.out;
  EXPECT_EQ(sl[0].rfind("event 'lifecycle' for domain 'web1': "
                        "stopped-migrated (job ",
                        0),
            0u)
    << sl[0];
  ASSERT_EQ(dl.size(), 2u) << d.out;
  EXPECT_NE(dl[0].find("'web1': started-migrated (job "), std::string::npos)
    << dl[0];
  EXPECT_NE(dl[1].find("'web1': resumed-migrated (job "), std::string::npos)
    << dl[1];
  // Both sides name the same job.
  auto job_of = [](const std::string& line) {
    auto p = line.find("(job ");
    return line.substr(p + 5, line.find(')', p) - p - 5);
  };
  EXPECT_EQ(job_of(sl[0]), job_of(dl[0]));
  EXPECT_NE(s.out.find("events received: 1"), std::string::npos) << s.out;
  EXPECT_EQ(state_of("b", "web1"), "running");
  // Each agent logged one line per event.
  EXPECT_NE(cl.at("a").log().find("lifecycle: web1 stopped-migrated"),
            std::string::npos);
}

TEST_F(events, an_aborted_migration_fails_on_the_source) {
  start_domain("a", "slow", 256);
  auto src = watch("a", 1, {"--domain", "slow"});
  auto mig = std::async(std::launch::async, [&] {
    return on("a", {"migrate", "--live", "--p2p", "--bandwidth", "16", "slow",
                    cl.at("b").uri()});
  });
  bool aborted = false;
  for (int i = 0; i < 200 && !aborted; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    auto info = on("a", {"domjobinfo", "slow"});
    if (info.rc == 0
        && info.out.find("Phase:              perform") != std::string::npos)
      aborted = on("a", {"domjobabort", "slow"}).rc == 0;
  }
  ASSERT_TRUE(aborted);
  EXPECT_NE(mig.get().rc, 0);
  auto s = src.get();
  ASSERT_EQ(s.rc, 0) << s.err;
  auto sl = event_lines(s.out);
  ASSERT_EQ(sl.size(), 1u) << s.out;
  EXPECT_NE(sl[0].find("'slow': failed (job "), std::string::npos) << sl[0];
  EXPECT_NE(sl[0].find("aborted"), std::string::npos) << sl[0];
  EXPECT_EQ(state_of("a", "slow"), "running");
}

TEST_F(events, json_prints_one_object_per_event) {
  start_domain("a", "js", 16);
  auto dst = watch("b", 2, {"--domain", "js"});
  ok("a", {"migrate", "--live", "js", cl.at("b").uri()});
  auto d = dst.get();
  (void) d;
  // The same run with --json: a second migration back and forth.
  auto src = std::async(std::launch::async, [&] {
    return on("b", {"--json", "event", "--count", "1", "--timeout", "60"});
  });
  for (int i = 0; i < 200 && subscriptions("b") < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  ok("b", {"migrate", "--live", "--p2p", "js", cl.at("a").uri()});
  auto s = src.get();
  ASSERT_EQ(s.rc, 0) << s.err;
  auto obj = nlohmann::json::parse(s.out, nullptr, false);
  ASSERT_TRUE(obj.is_object()) << s.out;
  EXPECT_EQ(obj.value("event", ""), "lifecycle");
  EXPECT_EQ(obj.value("domain", ""), "js");
  EXPECT_EQ(obj.value("kind", ""), "stopped-migrated");
  EXPECT_FALSE(obj.value("job", "").empty());
  EXPECT_GT(obj.value("unix_ms", int64_t{0}), 0);
}

TEST_F(events, direct_migration_starts_on_the_dest_from_its_driver) {
  start_domain("a", "dir", 16);
  auto dst = watch("b", 2, {"--domain", "dir"});
  ok("a", {"migrate", "--live", "--direct", "dir", cl.at("b").hypervisor_uri()});
  auto d = dst.get();
  ASSERT_EQ(d.rc, 0) << d.err << cl.at("b").log_tail();
  auto dl = event_lines(d.out);
  ASSERT_EQ(dl.size(), 2u) << d.out;
  EXPECT_NE(dl[0].find("'dir': started-migrated: direct"), std::string::npos)
    << dl[0];
  EXPECT_NE(dl[1].find("'dir': resumed-migrated"), std::string::npos) << dl[1];
}

TEST_F(events, a_timeout_without_events_is_a_clear_error) {
  fails("a", {"event", "--timeout", "1"}, "timed out after 1 s");
  auto r = on("a", {"event", "--loop", "--timeout", "1"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("event loop timed out"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("events received: 0"), std::string::npos) << r.out;
}
