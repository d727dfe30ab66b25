// The phase table (migration/phases.hpp) against its two readers: the
// coordinator, which must do what each row says when that phase fails, and
// migration/README.md, whose table and diagram must say the same.
#include "migration/phases.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/migration/coordinator_fixture.hpp"

using namespace ferry;
using namespace ferry_test;

namespace {

/// The fake peers' trace line for a successful phase's request.
std::string request_line(const protocol_step& s) {
  std::string who = s.asked == party::source ? "source." : "dest.";
  std::string what = to_string(s.phase);
  if (s.phase == mig_phase::finish)
    what += "(success)";
  if (s.phase == mig_phase::confirm)
    what += "(committed)";
  return who + what;
}

/// What the coordinator must ask after a phase failed by `rule`.
lines follow_ups(phase_failure rule) {
  switch (rule) {
    case phase_failure::report: return {};
    case phase_failure::release_source: return {"source.confirm(failed)"};
    case phase_failure::abort_then_release:
      return {"dest.finish(failure)", "source.confirm(failed)"};
    case phase_failure::ask_outcome: return {"source.confirm(unknown)"};
    case phase_failure::warn: return {};
  }
  return {"?"};
}

/// The reply slot of `s` in the fake peers' scripts.
template <class F>
void script(peer_script& src, peer_script& dst, mig_phase p, F f) {
  switch (p) {
    case mig_phase::begin: f(src.begin); break;
    case mig_phase::prepare: f(dst.prepare); break;
    case mig_phase::perform: f(src.perform); break;
    case mig_phase::finish: f(dst.finish_success); break;
    case mig_phase::confirm: f(src.confirm); break;
    default: FAIL() << "no script for " << to_string(p);
  }
}

class phase_table
  : public coordinator,
    public ::testing::WithParamInterface<std::tuple<size_t, bool>> {
protected:
  /// Runs a job whose `step` fails (refused, or never answered) and checks
  /// the requests and the result against the table.
  void fail_and_check(const protocol_step& step, bool refused) {
    script(*src, *dst, step.phase, [refused](auto& r) {
      if (refused)
        r.fail(make_error(errc::hypervisor_error, "refused by the test"));
      else
        r.hold();
    });
    start();
    if (!refused)
      advance_time(61s); // past every phase's timeout in args()
    lines want;
    for (auto& s : protocol_steps()) {
      want.push_back(request_line(s));
      if (s.phase == step.phase)
        break;
    }
    auto rule = refused ? step.if_refused : step.if_lost;
    for (auto& l : follow_ups(rule))
      want.push_back(l);
    EXPECT_EQ(log->lines(), want)
      << to_string(step.phase) << (refused ? " refused" : " unanswered")
      << ": " << to_string(rule);
    ASSERT_TRUE(reported()) << to_string(step.phase);
    EXPECT_EQ(static_cast<bool>(result->value()), rule == phase_failure::warn)
      << "only a failure after the commit is a success";
  }
};

TEST(phase_table_rows, follow_the_protocol_order_and_the_journals_sides) {
  std::vector<mig_phase> order{mig_phase::begin, mig_phase::prepare,
                               mig_phase::perform, mig_phase::finish,
                               mig_phase::confirm};
  ASSERT_EQ(protocol_steps().size(), order.size());
  int commits = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    auto& s = protocol_steps()[i];
    EXPECT_EQ(s.phase, order[i]);
    EXPECT_EQ(&step_of(s.phase), &s);
    commits += s.commits ? 1 : 0;
    if (s.record) {
      // The asked side writes it: a record of the other side's journal
      // would be skipped at start (drivers/job_role.hpp).
      auto side = s.asked == party::source ? job_role::source
                                           : job_role::destination;
      EXPECT_EQ(role_of(*s.record), side) << to_string(s.phase);
      EXPECT_EQ(parse_phase(to_string(*s.record)), s.record);
    }
  }
  EXPECT_EQ(commits, 1) << "exactly one commit point";
  EXPECT_EQ(step_of(mig_phase::finish).record, mig_phase::committed);
  EXPECT_THROW(step_of(mig_phase::done), std::logic_error);
}

TEST_P(phase_table, a_failed_phase_leads_where_the_table_says) {
  auto [row, refused] = GetParam();
  fail_and_check(protocol_steps().at(row), refused);
}

// Every row, failed both ways: refused (an error answer) and unanswered.
INSTANTIATE_TEST_SUITE_P(rows, phase_table,
                         ::testing::Combine(::testing::Range<size_t>(0, 5),
                                            ::testing::Bool()));

// -- migration/README.md ----------------------------------------------------------

std::string readme() {
  std::ifstream in{std::string{FERRY_SOURCE_ROOT} + "/migration/README.md"};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream ss{row};
  std::string cell;
  std::getline(ss, cell, '|'); // before the first bar
  while (std::getline(ss, cell, '|')) {
    auto b = cell.find_first_not_of(' ');
    auto e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  if (!out.empty() && out.back().empty())
    out.pop_back();
  return out;
}

/// The rows of the table under "## Phase table", without its header.
std::vector<std::vector<std::string>> readme_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  auto at = text.find("## Phase table");
  if (at == std::string::npos)
    return rows;
  std::stringstream ss{text.substr(at)};
  std::string line;
  bool in_table = false;
  while (std::getline(ss, line)) {
    if (line.rfind("| phase |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table || line.rfind("| ---", 0) == 0)
      continue;
    if (line.rfind("|", 0) != 0)
      break;
    rows.push_back(cells(line));
  }
  return rows;
}

TEST(phase_table_readme, lists_every_row_as_the_code_has_it) {
  auto rows = readme_rows(readme());
  ASSERT_EQ(rows.size(), protocol_steps().size())
    << "migration/README.md's phase table";
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& s = protocol_steps()[i];
    std::vector<std::string> want{
      to_string(s.phase),      to_string(s.asked),
      s.request,               s.answer,
      s.record ? to_string(*s.record) : "-",
      to_string(s.if_refused), to_string(s.if_lost),
      s.commits ? "yes" : "no"};
    EXPECT_EQ(rows[i], want) << "row " << i + 1;
  }
}

TEST(phase_table_readme, diagram_sends_the_requests_in_order) {
  auto text = readme();
  auto from = text.find("## The protocol");
  auto to = text.find("## Phase table");
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  auto diagram = text.substr(from, to - from);
  size_t at = 0;
  for (auto& s : protocol_steps()) {
    auto req = diagram.find(std::string{"--- "} + s.request + " -", at);
    ASSERT_NE(req, std::string::npos) << s.request << " missing or out of order";
    auto ans = diagram.find(s.answer, req);
    ASSERT_NE(ans, std::string::npos) << s.answer << " after " << s.request;
    if (s.record) {
      auto rec = diagram.find(std::string{"journal: "} + to_string(*s.record),
                              req);
      EXPECT_NE(rec, std::string::npos) << s.request << "'s journal record";
    }
    at = ans;
  }
  EXPECT_NE(diagram.find("COMMIT POINT"), std::string::npos);
}

} // namespace
