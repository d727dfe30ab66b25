#include "migration/job_history.hpp"

#include <string>

#include <gtest/gtest.h>

using namespace ferry;

namespace {

job_finished record(const std::string& driver, const std::string& domain,
                    const std::string& job, mig_phase phase = mig_phase::done) {
  job_finished rec;
  rec.driver = driver;
  rec.stats.job_id = job;
  rec.stats.domain = domain;
  rec.stats.phase = phase;
  return rec;
}

} // namespace

TEST(job_history, keeps_the_last_finished_job_of_each_domain) {
  job_history h;
  EXPECT_FALSE(h.find("test", "vm1"));
  h.add(record("test", "vm1", "j1", mig_phase::failed));
  h.add(record("test", "vm2", "j2"));
  h.add(record("test", "vm1", "j3"));
  auto vm1 = h.find("test", "vm1");
  ASSERT_TRUE(vm1);
  EXPECT_EQ(vm1->job_id, "j3");
  EXPECT_EQ(vm1->phase, mig_phase::done);
  EXPECT_EQ(h.find("test", "vm2")->job_id, "j2");
  EXPECT_EQ(h.size(), 2u);
}

TEST(job_history, tells_drivers_apart_unless_none_is_named) {
  job_history h;
  h.add(record("test", "vm1", "t"));
  h.add(record("qemu", "vm1", "q"));
  EXPECT_EQ(h.find("test", "vm1")->job_id, "t");
  EXPECT_EQ(h.find("qemu", "vm1")->job_id, "q");
  EXPECT_EQ(h.find("", "vm1")->job_id, "q") << "the newest of any driver";
  auto err = h.find("other", "vm1");
  ASSERT_FALSE(err);
  EXPECT_NE(error_text(err.error()).find("no finished migration job"),
            std::string::npos);
}

TEST(job_history, forgets_the_least_recently_finished_domains_first) {
  job_history h{3};
  h.add(record("test", "a", "1"));
  h.add(record("test", "b", "2"));
  h.add(record("test", "c", "3"));
  h.add(record("test", "a", "4")); // a is the newest again
  h.add(record("test", "d", "5")); // b goes
  EXPECT_EQ(h.size(), 3u);
  EXPECT_FALSE(h.find("test", "b"));
  EXPECT_EQ(h.find("test", "a")->job_id, "4");
  EXPECT_TRUE(h.find("test", "c"));
  EXPECT_TRUE(h.find("test", "d"));
}

TEST(job_history, tells_how_a_resolution_ended_the_newest_job) {
  job_history h;
  auto rec = record("test", "vm1", "j1", mig_phase::failed);
  rec.resolution = "the destination's copy died in a crash";
  h.add(rec);
  auto s = h.resolved("test", "vm1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->job_id, "j1");
  EXPECT_EQ(s->error, "the destination's copy died in a crash");
  EXPECT_TRUE(h.resolved("", "vm1"));
  EXPECT_FALSE(h.resolved("qemu", "vm1"));
  EXPECT_FALSE(h.resolved("test", "vm2"));
  // A later job that ended otherwise is the answer now: nothing resolved.
  h.add(record("test", "vm1", "j2"));
  EXPECT_FALSE(h.resolved("test", "vm1"));
  EXPECT_EQ(h.find("test", "vm1")->error, "");
}
