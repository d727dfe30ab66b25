#include "actors/event_bus.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"

using namespace ferry;
using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

/// A bus with room for two subscribers, and probes to subscribe.
class event_bus_test : public actor_fixture {
protected:
  event_bus_test() {
    bus = spawn(event_bus, std::string{"agent-a"}, size_t{2});
    run();
  }

  /// `who` subscribes itself (the bus takes the sender as subscriber).
  std::shared_ptr<response<bool>> subscribe(const caf::actor& who,
                                            std::string domain = {}) {
    auto res = std::make_shared<response<bool>>();
    auto target = bus;
    inside(who, [target, res, domain](caf::event_based_actor* self) {
      self->request(target, caf::infinite, subscribe_events{domain})
        .then(
          [res](bool ok) {
            res->arrived = true;
            res->value = ok;
          },
          [res](caf::error& err) {
            res->arrived = true;
            res->error = std::move(err);
          });
    });
    run();
    return res;
  }

  void publish(const std::string& domain, lifecycle_event kind) {
    publish_event(bus, domain, kind, "job-1", "p2p");
    run();
  }

  caf::actor bus;
};

} // namespace

TEST_F(event_bus_test, subscribers_receive_each_event_stamped_by_the_agent) {
  std::shared_ptr<inbox> a;
  std::shared_ptr<inbox> b;
  auto pa = probe(a);
  auto pb = probe(b);
  ASSERT_TRUE(subscribe(pa)->ok());
  ASSERT_TRUE(subscribe(pb, "web2")->ok());
  publish("web1", lifecycle_event::stopped_migrated);
  publish("web2", lifecycle_event::started_migrated);
  ASSERT_EQ(a->count<domain_event>(), 2u);
  auto& ev = a->get<domain_event>(0);
  EXPECT_EQ(ev.agent, "agent-a");
  EXPECT_EQ(ev.domain, "web1");
  EXPECT_EQ(ev.kind, lifecycle_event::stopped_migrated);
  EXPECT_EQ(ev.job_id, "job-1");
  EXPECT_EQ(ev.detail, "p2p");
  EXPECT_GT(ev.unix_ms, 0);
  // b filters on web2.
  ASSERT_EQ(b->count<domain_event>(), 1u);
  EXPECT_EQ(b->get<domain_event>(0).domain, "web2");
}

TEST_F(event_bus_test, more_subscribers_than_the_bound_are_refused) {
  std::shared_ptr<inbox> a;
  std::shared_ptr<inbox> b;
  std::shared_ptr<inbox> c;
  auto pa = probe(a);
  auto pb = probe(b);
  auto pc = probe(c);
  ASSERT_TRUE(subscribe(pa)->ok());
  ASSERT_TRUE(subscribe(pb)->ok());
  auto res = subscribe(pc);
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::limit_exceeded);
  // Subscribing again only changes the filter: no new slot.
  EXPECT_TRUE(subscribe(pa, "web1")->ok());
  publish("web1", lifecycle_event::failed);
  EXPECT_EQ(c->count<domain_event>(), 0u);
  EXPECT_EQ(a->count<domain_event>(), 1u);
}

TEST_F(event_bus_test, a_subscriber_that_goes_down_is_removed) {
  std::shared_ptr<inbox> a;
  std::shared_ptr<inbox> b;
  std::shared_ptr<inbox> c;
  auto pa = probe(a);
  auto pb = probe(b);
  auto pc = probe(c);
  ASSERT_TRUE(subscribe(pa)->ok());
  ASSERT_TRUE(subscribe(pb)->ok());
  kill(pa);
  // Its slot is free again.
  ASSERT_TRUE(subscribe(pc)->ok());
  publish("web1", lifecycle_event::resumed_migrated);
  EXPECT_EQ(b->count<domain_event>(), 1u);
  EXPECT_EQ(c->count<domain_event>(), 1u);
}

TEST_F(event_bus_test, publishing_without_a_bus_does_nothing) {
  publish_event(caf::actor{}, "web1", lifecycle_event::failed, "job-1");
  EXPECT_EQ(run(), 0u);
}

TEST_F(event_bus_test, the_bus_is_not_registered_by_name) {
  // A name in CAF's registry is reachable by any node that connects.
  for (auto& [name, ptr] : sys.registry().named_actors())
    EXPECT_NE(caf::actor_cast<caf::actor>(ptr), bus) << caf::to_string(name);
}

TEST_F(event_bus_test, events_from_the_wire_are_bounded) {
  auto roundtrip = [this](domain_event ev) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    EXPECT_FALSE(static_cast<bool>(sink(ev)));
    domain_event out;
    caf::binary_deserializer source{sys, buf};
    return static_cast<bool>(source(out));
  };
  domain_event ok;
  ok.domain = "web1";
  ok.kind = lifecycle_event::started_migrated;
  EXPECT_FALSE(roundtrip(ok));
  auto long_name = ok;
  long_name.domain.assign(max_event_name_len + 1, 'x');
  EXPECT_TRUE(roundtrip(long_name));
  auto long_detail = ok;
  long_detail.detail.assign(max_event_detail_len + 1, 'x');
  EXPECT_TRUE(roundtrip(long_detail));
  auto bad_kind = ok;
  bad_kind.kind = static_cast<lifecycle_event>(lifecycle_event_max + 1);
  EXPECT_TRUE(roundtrip(bad_kind));
  subscribe_events sub;
  sub.domain.assign(max_event_name_len + 1, 'x');
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  EXPECT_FALSE(static_cast<bool>(sink(sub)));
  subscribe_events back;
  caf::binary_deserializer source{sys, buf};
  EXPECT_TRUE(static_cast<bool>(source(back)));
}
