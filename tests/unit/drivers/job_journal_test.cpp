// The job journal: what survives a restart, what it refuses, what it prunes.

#include "drivers/job_journal.hpp"

#include <filesystem>
#include <fstream>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

using namespace ferry;

namespace {

class job_journal_test : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ferry-journal-unit-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    dir_ = root_ + "/jobs";
  }

  void TearDown() override {
    std::filesystem::remove_all(root_);
  }

  static job_record record(const std::string& id, const std::string& role,
                           const std::string& phase) {
    job_record r;
    r.job_id = id;
    r.role = *parse_job_role(role);
    r.phase = *parse_phase(phase);
    r.domain = "web1";
    r.driver = "test";
    r.dest_uri = "ferry+tls://b:7420/test";
    r.was_running = true;
    r.undefine_source = true;
    return r;
  }

  size_t files_in_dir() const {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_)) {
      (void) e;
      ++n;
    }
    return n;
  }

  std::string root_;
  std::string dir_;
};

} // namespace

TEST_F(job_journal_test, records_survive_a_restart_with_every_field) {
  {
    job_journal j{dir_};
    ASSERT_FALSE(j.open());
    ASSERT_FALSE(j.write(record("0a1b", "source", "begin")));
    ASSERT_FALSE(j.write(record("0a1b", "source", "verified")));
    ASSERT_FALSE(j.write(record("ffee", "destination", "committed")));
  }
  job_journal again{dir_};
  ASSERT_FALSE(again.open());
  auto r = again.find("0a1b");
  ASSERT_TRUE(r);
  EXPECT_STREQ(to_string(r->phase), "verified"); // the last write wins
  EXPECT_EQ(r->role, job_role::source);
  EXPECT_EQ(r->domain, "web1");
  EXPECT_EQ(r->driver, "test");
  EXPECT_EQ(r->dest_uri, "ferry+tls://b:7420/test");
  EXPECT_TRUE(r->was_running);
  EXPECT_TRUE(r->undefine_source);
  EXPECT_GT(r->updated_ms, 0);
  EXPECT_EQ(again.records().size(), 2u);
  EXPECT_EQ(files_in_dir(), 2u) << "temporary files were left behind";
}

TEST_F(job_journal_test, a_finished_record_kept_compact_still_answers_and_rewrites_whole) {
  job_journal j{dir_};
  ASSERT_FALSE(j.open());
  ASSERT_FALSE(j.write(record("0c", "destination", "prepare")));
  ASSERT_FALSE(j.write(record("0c", "destination", "committed")));
  auto r = j.find("0c");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->role, job_role::destination);
  EXPECT_STREQ(to_string(r->phase), "committed");
  EXPECT_EQ(r->domain, "web1");
  EXPECT_EQ(r->driver, "test");
  EXPECT_GT(r->updated_ms, 0);
  ASSERT_EQ(j.records().size(), 1u);
  // What recovery does (committed, then the guest is gone): find, set the
  // phase, write. The file must still name the domain and driver.
  r->phase = mig_phase::lost;
  ASSERT_FALSE(j.write(*r));
  job_journal again{dir_};
  ASSERT_FALSE(again.open());
  auto back = again.find("0c");
  ASSERT_TRUE(back);
  EXPECT_STREQ(to_string(back->phase), "lost");
  EXPECT_EQ(back->domain, "web1");
  EXPECT_EQ(back->driver, "test");
  // A finished job that starts again (never in practice; ids are random)
  // leaves no compact copy behind.
  ASSERT_FALSE(again.write(record("0c", "destination", "prepare")));
  EXPECT_STREQ(to_string(again.find("0c")->phase), "prepare");
  EXPECT_EQ(again.records().size(), 1u);
}

TEST_F(job_journal_test, removed_records_stay_removed) {
  job_journal j{dir_};
  ASSERT_FALSE(j.open());
  ASSERT_FALSE(j.write(record("0a1b", "source", "perform")));
  ASSERT_FALSE(j.remove("0a1b"));
  EXPECT_FALSE(j.find("0a1b"));
  job_journal again{dir_};
  ASSERT_FALSE(again.open());
  EXPECT_TRUE(again.records().empty());
}

TEST_F(job_journal_test, ids_that_are_not_hex_never_name_a_file) {
  job_journal j{dir_};
  ASSERT_FALSE(j.open());
  for (auto bad : {"", "../escape", "a/b", "ABCDEF", "0a1b.json", "x"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(j.write(record(bad, "source", "begin")));
  }
  EXPECT_TRUE(j.write(record(std::string(65, 'a'), "source", "begin")));
  EXPECT_TRUE(j.records().empty());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/escape.json"));
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(job_journal_test, unreadable_records_are_skipped_not_fatal) {
  {
    job_journal j{dir_};
    ASSERT_FALSE(j.open());
    ASSERT_FALSE(j.write(record("0a1b", "source", "begin")));
  }
  std::ofstream{dir_ + "/garbage.json"} << "{ not json";
  std::ofstream{dir_ + "/cafe.json"} << R"({"job_id": 7})";
  std::ofstream{dir_ + "/beef.json"} << "";
  // A phase the vocabulary lacks, and one of the other side's.
  std::ofstream{dir_ + "/0bad.json"}
    << R"({"job": "0bad", "role": "source", "domain": "d", "phase": "x"})";
  std::ofstream{dir_ + "/0bae.json"}
    << R"({"job": "0bae", "role": "source", "domain": "d",)"
       R"( "phase": "committed"})";
  // A phase of the protocol that no journal records.
  std::ofstream{dir_ + "/0baf.json"}
    << R"({"job": "0baf", "role": "source", "domain": "d", "phase": "done"})";
  job_journal again{dir_};
  ASSERT_FALSE(again.open());
  ASSERT_EQ(again.records().size(), 1u);
  EXPECT_EQ(again.records().front().job_id, "0a1b");
}

TEST_F(job_journal_test, a_record_written_by_an_earlier_build_still_reads) {
  std::filesystem::create_directories(dir_);
  // Earlier builds spelt the destination's prepare record `prepared`.
  std::ofstream{dir_ + "/0c0d.json"}
    << R"({"job": "0c0d", "role": "destination", "domain": "d",)"
       R"( "phase": "prepared"})";
  job_journal j{dir_};
  ASSERT_FALSE(j.open());
  ASSERT_TRUE(j.find("0c0d"));
  EXPECT_EQ(j.find("0c0d")->phase, mig_phase::prepare);
}

TEST_F(job_journal_test, prune_keeps_the_newest_finished_and_every_open_job) {
  job_journal j{dir_};
  ASSERT_FALSE(j.open());
  const char* finished_ids[] = {"01", "02", "03", "04", "05"};
  const char* phases[] = {"committed", "aborted", "lost", "committed",
                          "aborted"};
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(j.write(record(finished_ids[i], "destination", phases[i])));
    ::usleep(2000); // distinct update times
  }
  ASSERT_FALSE(j.write(record("a0", "destination", "prepare")));
  ASSERT_FALSE(j.write(record("a1", "source", "outcome-unknown")));
  j.prune(2);
  EXPECT_FALSE(j.find("01"));
  EXPECT_FALSE(j.find("02"));
  EXPECT_FALSE(j.find("03"));
  EXPECT_TRUE(j.find("04"));
  EXPECT_TRUE(j.find("05"));
  EXPECT_TRUE(j.find("a0")) << "an unfinished job was pruned";
  EXPECT_TRUE(j.find("a1")) << "an unfinished job was pruned";
  EXPECT_EQ(files_in_dir(), 4u + 1) << "four records and the watermark";
}

TEST_F(job_journal_test, pruning_leaves_a_durable_watermark_of_what_was_forgotten) {
  int64_t second = 0;
  {
    job_journal j{dir_};
    ASSERT_FALSE(j.open());
    EXPECT_EQ(j.pruned_before_ms(), 0);
    for (auto id : {"01", "02", "03"}) {
      ASSERT_FALSE(j.write(record(id, "destination", "committed")));
      ::usleep(2000);
    }
    second = j.find("02")->updated_ms;
    j.prune(1);
    EXPECT_EQ(j.pruned_before_ms(), second) << "the newest pruned record";
    j.prune(1); // nothing more to prune: the watermark stays
    EXPECT_EQ(j.pruned_before_ms(), second);
  }
  job_journal again{dir_};
  ASSERT_FALSE(again.open());
  EXPECT_EQ(again.pruned_before_ms(), second) << "lost across a restart";
  EXPECT_EQ(again.records().size(), 1u) << "the watermark file is no record";
}

TEST_F(job_journal_test, a_job_older_than_the_watermark_may_have_been_forgotten) {
  job_journal j{dir_};
  ASSERT_FALSE(j.open());
  EXPECT_FALSE(j.may_have_forgotten(0)) << "nothing pruned yet";
  for (auto id : {"01", "02"}) {
    ASSERT_FALSE(j.write(record(id, "destination", "committed")));
    ::usleep(2000);
  }
  j.prune(1);
  auto mark = j.pruned_before_ms();
  ASSERT_GT(mark, 0);
  auto skew = job_journal::max_clock_skew_ms;
  EXPECT_TRUE(j.may_have_forgotten(mark - 1000));
  EXPECT_TRUE(j.may_have_forgotten(mark + skew))
    << "a source clock up to the skew ahead still counts";
  EXPECT_FALSE(j.may_have_forgotten(mark + skew + 1))
    << "a job created after the watermark cannot have been pruned";
}

TEST_F(job_journal_test, a_missing_directory_is_created_and_a_file_in_its_way_is_an_error) {
  job_journal j{dir_ + "/deeper/still"};
  EXPECT_FALSE(j.open());
  std::ofstream{root_ + "/blocker"} << "x";
  job_journal blocked{root_ + "/blocker/jobs"};
  EXPECT_TRUE(blocked.open());
}

TEST_F(job_journal_test, a_long_running_agent_does_not_grow_with_its_history) {
  job_journal j{dir_, 10};
  ASSERT_FALSE(j.open());
  for (int i = 0; i < 150; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "%04x", i);
    ASSERT_FALSE(j.write(record(id, "destination", "committed")));
  }
  EXPECT_LE(j.records().size(), 10u + job_journal::prune_every);
  EXPECT_LE(files_in_dir(), 10u + job_journal::prune_every);
  EXPECT_TRUE(j.find("0095")) << "the newest record was pruned";
}

TEST(job_journal_durability, only_the_commit_and_recovery_states_wait_for_fsync) {
  using files::durability;
  auto of = [](const char* role, const char* phase) {
    job_record r;
    r.role = *parse_job_role(role);
    r.phase = *parse_phase(phase);
    return job_journal::durability_of(r);
  };
  // What another host may ask about after this host reboots.
  EXPECT_EQ(of("destination", "committed"), durability::host_crash);
  EXPECT_EQ(of("destination", "aborted"), durability::host_crash);
  EXPECT_EQ(of("destination", "lost"), durability::host_crash);
  EXPECT_EQ(of("source", "outcome-unknown"), durability::host_crash);
  // The hot path: a host crash kills the guests these describe.
  EXPECT_EQ(of("source", "begin"), durability::process_crash);
  EXPECT_EQ(of("source", "perform"), durability::process_crash);
  EXPECT_EQ(of("source", "verified"), durability::process_crash);
  EXPECT_EQ(of("destination", "prepare"), durability::process_crash);
}

TEST(journal_words, every_phase_reads_back_and_belongs_to_one_side) {
  const char* source[] = {"begin", "perform", "verified", "outcome-unknown"};
  const char* destination[] = {"prepare", "committed", "aborted", "lost"};
  for (auto* word : source) {
    auto p = parse_phase(word);
    ASSERT_TRUE(p) << word;
    EXPECT_STREQ(to_string(*p), word);
    EXPECT_EQ(role_of(*p), job_role::source) << word;
    EXPECT_FALSE(is_final(*p)) << word;
  }
  for (auto* word : destination) {
    auto p = parse_phase(word);
    ASSERT_TRUE(p) << word;
    EXPECT_STREQ(to_string(*p), word);
    EXPECT_EQ(role_of(*p), job_role::destination) << word;
    EXPECT_EQ(is_final(*p), *p != mig_phase::prepare) << word;
  }
  // Phases of the protocol no journal holds.
  for (auto* word : {"none", "finish", "confirm", "done", "failed"}) {
    auto p = parse_phase(word);
    ASSERT_TRUE(p) << word;
    EXPECT_STREQ(to_string(*p), word);
    EXPECT_FALSE(role_of(*p)) << word;
  }
  EXPECT_FALSE(parse_phase("Committed"));
  EXPECT_FALSE(parse_phase(""));
  EXPECT_FALSE(parse_job_role("coordinator"));
}
