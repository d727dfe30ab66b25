#include "migration/destination.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "migration/job_context.hpp"
#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"
#include "tests/unit/actors/fakes.hpp"

using namespace ferry;
using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

constexpr int64_t resumed_at = 1'700'000'000'250;

/// A destination job between a fake driver actor, a probe as its job
/// manager (which records job_outcome) and a probe as its coordinator.
class destination_job : public actor_fixture {
protected:
  destination_job() {
    driver = spawn(fake_driver, drv);
    manager = probe(manager_box);
    coord = probe(coord_box);
    events = probe(events_box);
    ctx.agent_name = "agent-b";
    ctx.driver_name = "test";
    ctx.driver = driver;
    ctx.manager = manager;
    ctx.events = events;
    ctx.data_listen = {"10.0.0.2", 0};
    ctx.driver_timeout = 10s;
    respawn();
    drv->finish.give(resumed_at);
  }

  /// A fresh job from `ctx` (after a test changed it).
  void respawn() {
    job = spawn(migration_destination, ctx);
    life = watch(job);
  }

  mig_prepare prepare_request() {
    mig_prepare req;
    req.job_id = job_id;
    req.xml = "<domain type='test'><name>vm1-new</name><memory>1024</memory>"
              "</domain>";
    req.flags.dest_uri = "ferry+tls://10.0.0.2:16509/test";
    req.flags.live = true;
    req.flags.persistent = true;
    req.source_agent = "agent-a";
    req.coordinator = coord;
    req.driver = "test";
    return req;
  }

  std::shared_ptr<response<prepare_cookie>> prepare(mig_prepare req) {
    auto res = request<prepare_cookie>(job, std::move(req));
    run();
    return res;
  }

  std::shared_ptr<response<prepare_cookie>> prepare() {
    return prepare(prepare_request());
  }

  std::shared_ptr<response<finish_cookie>> finish(bool success,
                                                  std::string id = {}) {
    auto res = request<finish_cookie>(job, mig_finish{id.empty() ? job_id : id,
                                                      success});
    run();
    return res;
  }

  /// The job outcomes the manager was told, as (job id, committed).
  std::vector<std::pair<std::string, bool>> outcomes() const {
    std::vector<std::pair<std::string, bool>> out;
    for (size_t i = 0; i < manager_box->count<job_outcome>(); ++i) {
      auto& o = manager_box->get<job_outcome>(i);
      out.emplace_back(o.job_id, o.committed);
    }
    return out;
  }

  using outcome_list = std::vector<std::pair<std::string, bool>>;

  /// The lifecycle events the job published, in order.
  std::vector<lifecycle_event> published() const {
    return published_events(*events_box);
  }

  using event_list = std::vector<lifecycle_event>;

  const std::string job_id = "0123456789abcdef0123456789abcdef";
  std::shared_ptr<trace> log = std::make_shared<trace>();
  std::shared_ptr<driver_script> drv = std::make_shared<driver_script>(log);
  std::shared_ptr<inbox> manager_box;
  std::shared_ptr<inbox> coord_box;
  std::shared_ptr<inbox> events_box;
  caf::actor events;
  caf::actor driver;
  caf::actor manager;
  caf::actor coord;
  caf::actor job;
  std::shared_ptr<lifetime> life;
  job_context ctx;
};

} // namespace

// -- prepare ------------------------------------------------------------------------

TEST_F(destination_job, prepare_creates_the_domain_and_answers_a_cookie) {
  auto res = prepare();
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_EQ(log->lines(), (std::vector<std::string>{"drv.prepare",
                                                    "drv.watch(on)"}));
  ASSERT_EQ(drv->prepares.size(), 1u);
  EXPECT_EQ(drv->prepares[0].job_id, job_id);
  EXPECT_EQ(drv->prepares[0].xml, prepare_request().xml);
  EXPECT_EQ(drv->prepares[0].spec.how, incoming_spec::kind::native);
  EXPECT_EQ(drv->prepares[0].spec.listen_host, "10.0.0.2");
  EXPECT_EQ(drv->prepares[0].spec.listen_port, 0);
  auto& c = *res->value;
  EXPECT_EQ(c.dest_job, job);
  EXPECT_EQ(c.data_host, "10.0.0.2");
  EXPECT_EQ(c.data_port, 4711);
  EXPECT_EQ(c.token, "one-time-token");
  EXPECT_FALSE(c.dest_pump);
  EXPECT_EQ(drv->listener, job);
  EXPECT_TRUE(outcomes().empty());
  EXPECT_FALSE(life->down);
}

TEST_F(destination_job, prepare_listens_where_the_migrate_uri_says) {
  auto req = prepare_request();
  req.flags.migrate_uri = "tcp://192.168.7.5:49152";
  auto res = prepare(req);
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  ASSERT_EQ(drv->prepares.size(), 1u);
  EXPECT_EQ(drv->prepares[0].spec.listen_host, "192.168.7.5");
  EXPECT_EQ(drv->prepares[0].spec.listen_port, 49152);
  EXPECT_EQ(res->value->data_host, "192.168.7.5");
}

// Agents listening on every address (0.0.0.0) must never hand the source
// 0.0.0.0: it would connect to itself.
TEST_F(destination_job, a_wildcard_listener_hands_the_source_a_reachable_host) {
  ctx.data_listen = {"0.0.0.0", 0};
  respawn();
  auto res = prepare();
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_EQ(drv->prepares[0].spec.listen_host, "0.0.0.0");
  EXPECT_EQ(res->value->data_host, "")
    << "empty: the source uses the host it reached this agent at";
}

TEST_F(destination_job, the_migration_host_is_what_the_source_connects_to) {
  ctx.data_listen = {"0.0.0.0", 0};
  ctx.data_host = "b.example.net";
  respawn();
  auto res = prepare();
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_EQ(res->value->data_host, "b.example.net");
}

TEST_F(destination_job, listen_address_overrides_where_the_hypervisor_listens) {
  auto req = prepare_request();
  req.flags.listen_address = "192.168.7.9";
  auto res = prepare(req);
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_EQ(drv->prepares[0].spec.listen_host, "192.168.7.9");
  EXPECT_EQ(res->value->data_host, "192.168.7.9");
}

TEST_F(destination_job, prepare_refused_by_the_driver_ends_the_job) {
  drv->prepare.fail(make_error(errc::domain_exists, "vm1-new exists"));
  auto res = prepare();
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::domain_exists);
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, false}}));
  EXPECT_TRUE(life->down);
}

TEST_F(destination_job, prepare_with_bad_xml_is_refused_before_the_driver) {
  auto req = prepare_request();
  req.xml = "<domain type='test'><name>x</name>";
  auto res = prepare(req);
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::invalid_xml);
  EXPECT_TRUE(drv->prepares.empty());
  EXPECT_TRUE(life->down);
}

// -- finish ------------------------------------------------------------------------

TEST_F(destination_job, finish_success_commits_and_records_the_outcome) {
  ASSERT_TRUE(prepare()->ok());
  auto res = finish(true);
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_TRUE(res->value->committed);
  EXPECT_EQ(res->value->resumed_at_ms, resumed_at);
  EXPECT_EQ(res->value->domain, "vm1-new");
  ASSERT_EQ(drv->finishes.size(), 1u);
  EXPECT_TRUE(drv->finishes[0].success);
  EXPECT_EQ(drv->finishes[0].domain, "vm1-new");
  EXPECT_EQ(drv->finishes[0].job_id, job_id);
  EXPECT_FALSE(drv->finishes[0].suspend);
  EXPECT_TRUE(drv->finishes[0].persistent);
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, true}}));
  EXPECT_TRUE(log->has("drv.watch(off)"));
  EXPECT_TRUE(life->down);
}

TEST_F(destination_job, finish_with_suspend_leaves_it_paused) {
  auto req = prepare_request();
  req.flags.suspend = true;
  ASSERT_TRUE(prepare(req)->ok());
  drv->finish.give(0);
  auto res = finish(true);
  ASSERT_TRUE(res->ok());
  EXPECT_TRUE(drv->finishes[0].suspend);
  EXPECT_EQ(res->value->resumed_at_ms, 0);
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, true}}));
}

TEST_F(destination_job, finish_failure_tears_the_domain_down) {
  ASSERT_TRUE(prepare()->ok());
  drv->finish.give(0);
  auto res = finish(false);
  ASSERT_TRUE(res->ok()) << error_text(res->error);
  EXPECT_FALSE(res->value->committed);
  EXPECT_EQ(log->lines().back(), "drv.watch(off)");
  EXPECT_TRUE(log->has("drv.finish(failure)"));
  EXPECT_FALSE(log->has("drv.finish(success)"));
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, false}}));
  EXPECT_TRUE(life->down);
}

TEST_F(destination_job, finish_refused_by_the_hypervisor_is_not_a_commit) {
  ASSERT_TRUE(prepare()->ok());
  drv->finish.fail(make_error(errc::migration_failed, "digest mismatch"));
  auto res = finish(true);
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::migration_failed);
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, false}}));
  EXPECT_TRUE(life->down);
}

// -- the coordinator goes away ----------------------------------------------------------

TEST_F(destination_job, coordinator_lost_before_finish_tears_down) {
  ASSERT_TRUE(prepare()->ok());
  kill(coord);
  ASSERT_EQ(drv->finishes.size(), 1u);
  EXPECT_FALSE(drv->finishes[0].success);
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, false}}));
  EXPECT_TRUE(life->down);
}

TEST_F(destination_job, coordinator_lost_during_finish_changes_nothing) {
  ASSERT_TRUE(prepare()->ok());
  drv->finish.hold();
  auto res = finish(true);
  kill(coord);
  EXPECT_EQ(drv->finishes.size(), 1u) << log->str();
  EXPECT_TRUE(outcomes().empty());
  inside(driver, [this](caf::event_based_actor*) {
    drv->finish.held.front().deliver(resumed_at);
  });
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, true}}));
  EXPECT_TRUE(life->down);
}

// -- stale and duplicate messages ------------------------------------------------------

TEST_F(destination_job, duplicate_finish_is_refused) {
  ASSERT_TRUE(prepare()->ok());
  drv->finish.hold();
  auto first = finish(true);
  auto second = finish(true);
  auto third = finish(false);
  ASSERT_TRUE(second->arrived);
  EXPECT_EQ(code_of(second->error), errc::stale_message);
  ASSERT_TRUE(third->arrived);
  EXPECT_EQ(code_of(third->error), errc::stale_message);
  EXPECT_EQ(drv->finishes.size(), 1u);
  EXPECT_FALSE(first->arrived);
  inside(driver, [this](caf::event_based_actor*) {
    drv->finish.held.front().deliver(resumed_at);
  });
  ASSERT_TRUE(first->ok());
  EXPECT_TRUE(first->value->committed);
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, true}}));
}

TEST_F(destination_job, finish_for_another_job_is_refused) {
  ASSERT_TRUE(prepare()->ok());
  auto res = finish(true, "ffffffffffffffffffffffffffffffff");
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::stale_message);
  EXPECT_TRUE(drv->finishes.empty());
  EXPECT_FALSE(life->down);
}

TEST_F(destination_job, finish_before_prepare_is_refused) {
  auto res = finish(true);
  ASSERT_TRUE(res->arrived);
  EXPECT_FALSE(res->value);
  EXPECT_TRUE(drv->finishes.empty());
}

TEST_F(destination_job, abort_before_finish_tears_down) {
  ASSERT_TRUE(prepare()->ok());
  auto ab = request<job_stats>(job, job_control{job_verb::abort, "vm1-new"});
  run();
  ASSERT_TRUE(ab->ok()) << error_text(ab->error);
  ASSERT_EQ(drv->finishes.size(), 1u);
  EXPECT_FALSE(drv->finishes[0].success);
  EXPECT_EQ(outcomes(), (outcome_list{{job_id, false}}));
  EXPECT_TRUE(life->down);
}

// -- lifecycle events ----------------------------------------------------------

TEST_F(destination_job, commit_publishes_started_and_resumed_migrated) {
  ASSERT_TRUE(prepare()->ok());
  EXPECT_TRUE(published().empty()) << "nothing is owned here before finish";
  ASSERT_TRUE(finish(true)->ok());
  EXPECT_EQ(published(), (event_list{lifecycle_event::started_migrated,
                                     lifecycle_event::resumed_migrated}));
  auto& ev = events_box->get<domain_event>(0);
  EXPECT_EQ(ev.domain, "vm1-new");
  EXPECT_EQ(ev.job_id, job_id);
  EXPECT_GT(ev.unix_ms, 0);
}

TEST_F(destination_job, commit_with_suspend_publishes_no_resume) {
  auto req = prepare_request();
  req.flags.suspend = true;
  ASSERT_TRUE(prepare(req)->ok());
  drv->finish.give(0);
  ASSERT_TRUE(finish(true)->ok());
  EXPECT_EQ(published(), (event_list{lifecycle_event::started_migrated}));
}

TEST_F(destination_job, tear_down_publishes_failed) {
  ASSERT_TRUE(prepare()->ok());
  drv->finish.give(0);
  ASSERT_TRUE(finish(false)->ok());
  EXPECT_EQ(published(), (event_list{lifecycle_event::failed}));
}

TEST_F(destination_job, coordinator_lost_publishes_failed) {
  ASSERT_TRUE(prepare()->ok());
  drv->finish.give(0);
  kill(coord);
  EXPECT_EQ(published(), (event_list{lifecycle_event::failed}));
  EXPECT_NE(events_box->get<domain_event>(0).detail.find("coordinator lost"),
            std::string::npos);
}
