#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "migration/coordinator.hpp"
#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"
#include "tests/unit/actors/fakes.hpp"

namespace ferry_test {

using namespace ferry;
using namespace std::chrono_literals;


using lines = std::vector<std::string>;

constexpr int64_t paused_at = 1'700'000'000'000;
constexpr uint64_t hv_downtime = 999; ///< What the hypervisor measured.

/// A coordinator between fake source and destination agents. Each agent
/// has an entry point (session or job manager) and a job actor; the
/// entries' cookies point at the jobs. By default every phase succeeds;
/// tests re-script single answers.
class coordinator : public actor_fixture {
protected:
  coordinator() {
    src_entry = spawn(fake_peer, src);
    src_job = spawn(fake_peer, src);
    dst_entry = spawn(fake_peer, dst);
    dst_job = spawn(fake_peer, dst);
    begin_cookie bc;
    bc.source_job = caf::actor_cast<source_participant>(src_job);
    bc.xml = "<domain type='test'><name>vm1</name><memory>1024</memory>"
             "</domain>";
    bc.source_agent = "agent-a";
    bc.memory_bytes = 1024 * 1024;
    bc.was_running = true;
    src->begin.give(bc);
    prepare_cookie pc;
    pc.dest_job = caf::actor_cast<dest_participant>(dst_job);
    pc.data_host = "10.0.0.2";
    pc.data_port = 4711;
    pc.token = "one-time-token";
    dst->prepare.give(pc);
    job_stats ps;
    ps.data_processed = 64 * 1024 * 1024;
    ps.paused_at_ms = paused_at;
    ps.downtime_ms = hv_downtime;
    ps.digest_verified = true; // as the test driver reports it
    src->perform.give(ps);
    finish_cookie fc;
    fc.committed = true;
    fc.resumed_at_ms = paused_at + 250;
    fc.domain = "vm1";
    dst->finish_success.give(fc);
    dst->finish_failure.give(finish_cookie{});
  }

  coordinator_args args() {
    coordinator_args a;
    a.job_id = job_id;
    a.domain = "vm1";
    a.flags.dest_uri = "ferry+tls://10.0.0.2:16509/test";
    a.flags.live = true;
    a.source_entry = src_entry;
    a.dest_entry = dst_entry;
    a.source_agent = "agent-a";
    a.source_driver = "test";
    a.timeouts.begin = 1s;
    a.timeouts.prepare = 2s;
    a.timeouts.perform = 60s;
    a.timeouts.finish = 5s;
    a.timeouts.confirm = 5s;
    auto slot = result;
    a.done = [slot](caf::expected<migration_result> res) {
      if (slot->has_value())
        ADD_FAILURE() << "the coordinator reported twice";
      slot->emplace(std::move(res));
    };
    return a;
  }

  void start(coordinator_args a) {
    coord = spawn(migration_coordinator, std::move(a));
    coord_life = watch(coord);
    run();
  }

  void start() {
    start(args());
  }

  bool reported() const {
    return result->has_value();
  }

  /// The result, which must be a success.
  migration_result success() {
    EXPECT_TRUE(reported()) << "no result; trace: " << log->str();
    if (!reported())
      return {};
    auto& res = **result;
    EXPECT_TRUE(res) << error_text(res.error());
    return res ? *res : migration_result{};
  }

  /// The result, which must be an error.
  caf::error failure() {
    EXPECT_TRUE(reported()) << "no result; trace: " << log->str();
    if (!reported())
      return {};
    auto& res = **result;
    EXPECT_FALSE(res) << "unexpected success";
    return res ? caf::error{} : res.error();
  }

  /// Delivers the oldest answer `r` holds back, from inside `owner`.
  template <class T>
  void release(const caf::actor& owner, reply<T>& r, T value) {
    ASSERT_FALSE(r.held.empty()) << "nothing held";
    inside(owner, [&r, value](caf::event_based_actor*) mutable {
      auto rp = r.held.front();
      r.held.erase(r.held.begin());
      rp.deliver(std::move(value));
    });
  }

  const std::string job_id = new_job_id();
  std::shared_ptr<trace> log = std::make_shared<trace>();
  std::shared_ptr<peer_script> src = std::make_shared<peer_script>("source",
                                                                   log);
  std::shared_ptr<peer_script> dst = std::make_shared<peer_script>("dest",
                                                                   log);
  std::shared_ptr<std::optional<caf::expected<migration_result>>> result
    = std::make_shared<std::optional<caf::expected<migration_result>>>();
  caf::actor src_entry;
  caf::actor src_job;
  caf::actor dst_entry;
  caf::actor dst_job;
  caf::actor coord;
  std::shared_ptr<lifetime> coord_life;
};


} // namespace ferry_test
