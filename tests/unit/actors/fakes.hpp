#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>
#include <caf/typed_response_promise.hpp>

#include "drivers/driver_messages.hpp"
#include "drivers/driver.hpp"
#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"

/// Scripted stand-ins for the actors around the ones under test. Each fake
/// records what it was asked (typed, and as a line in a trace shared by all
/// fakes of a test, so that tests can assert the order across actors) and
/// answers as the test scripted it: a value, an error, or not at all.
namespace ferry_test {

/// Ordered lines, one per request a fake received, e.g. `source.perform`,
/// `dest.finish(failure)`, `drv.confirm(failed)`.
class trace {
public:
  void add(std::string line) {
    lines_.push_back(std::move(line));
  }

  const std::vector<std::string>& lines() const {
    return lines_;
  }

  size_t count(const std::string& line) const {
    return static_cast<size_t>(std::count(lines_.begin(), lines_.end(), line));
  }

  bool has(const std::string& line) const {
    return count(line) > 0;
  }

  /// Position of the first `line`, or npos.
  size_t index(const std::string& line) const {
    auto i = std::find(lines_.begin(), lines_.end(), line);
    return i == lines_.end() ? std::string::npos
                             : static_cast<size_t>(i - lines_.begin());
  }

  /// Lines that start with `prefix`, in order.
  std::vector<std::string> with_prefix(const std::string& prefix) const {
    std::vector<std::string> out;
    for (auto& l : lines_)
      if (l.compare(0, prefix.size(), prefix) == 0)
        out.push_back(l);
    return out;
  }

  /// All lines on one line, for failure messages.
  std::string str() const {
    std::string out;
    for (auto& l : lines_)
      out += (out.empty() ? "" : ", ") + l;
    return "[" + out + "]";
  }

private:
  std::vector<std::string> lines_;
};

/// How a fake answers one kind of request. `hold()` keeps the request
/// open: its promise waits in `held` until the test delivers it (with
/// `actor_fixture::inside` on the fake) or forever.
template <class T>
struct reply {
  enum class mode { value, error, hold };

  mode how = mode::value;
  T value{};
  caf::error err;
  std::vector<caf::typed_response_promise<T>> held;

  void give(T x) {
    how = mode::value;
    value = std::move(x);
  }

  void fail(caf::error e) {
    how = mode::error;
    err = std::move(e);
  }

  void hold() {
    how = mode::hold;
  }

  caf::result<T> operator()(caf::event_based_actor* self) {
    switch (how) {
      case mode::value:
        return value;
      case mode::error:
        return caf::result<T>{caf::error{err}};
      case mode::hold:
        break;
    }
    auto rp = self->make_response_promise<T>();
    held.push_back(rp);
    return rp;
  }
};

inline const char* outcome_name(ferry::confirm_outcome x) {
  switch (x) {
    case ferry::confirm_outcome::committed: return "committed";
    case ferry::confirm_outcome::failed: return "failed";
    case ferry::confirm_outcome::unknown: return "unknown";
  }
  return "?";
}

// -- the driver actor -----------------------------------------------------------

/// What the fake driver answers and what it was asked.
struct driver_script {
  explicit driver_script(std::shared_ptr<trace> t) : log(std::move(t)) {
    ferry::begin_result br;
    br.xml = "<domain type='test'><name>vm1</name><memory>1024</memory>"
             "</domain>";
    br.was_running = true;
    br.memory_bytes = 1024 * 1024;
    begin.give(br);
    start.give(true);
    progress.value.hv_status = "active";
    cancel.give(true);
    tune.give(true);
    confirm.give(true);
    prepare.give(ferry::incoming_endpoint{4711, "one-time-token"});
    finish.give(0);
  }

  std::shared_ptr<trace> log;

  reply<ferry::begin_result> begin;
  reply<bool> start;
  reply<ferry::job_stats> progress;
  reply<bool> cancel;
  reply<bool> tune;
  reply<bool> confirm;
  reply<ferry::incoming_endpoint> prepare;
  reply<int64_t> finish;
  reply<bool> journal{reply<bool>::mode::value, true, {}, {}};

  std::vector<ferry::drv_begin> begins;
  std::vector<ferry::drv_start> starts;
  std::vector<ferry::drv_confirm> confirms;
  std::vector<ferry::drv_prepare> prepares;
  std::vector<ferry::drv_finish> finishes;
  std::vector<ferry::drv_watch> watches;
  std::vector<ferry::drv_tune> tunes;
  std::vector<std::string> journal_phases; ///< drv_journal_phase, in order.
  size_t progress_calls = 0;
  size_t cancels = 0;
  caf::actor listener; ///< Last subscriber of drv_watch.

  /// The drv_confirm outcomes asked for, in order.
  std::vector<ferry::confirm_outcome> confirm_outcomes() const {
    std::vector<ferry::confirm_outcome> out;
    for (auto& c : confirms)
      out.push_back(c.outcome);
    return out;
  }
};

/// A driver actor that answers as `s` says (actors/driver_actor.hpp's
/// migration half), never touching a hypervisor.
inline caf::behavior fake_driver(caf::event_based_actor* self,
                                 std::shared_ptr<driver_script> s) {
  using namespace ferry;
  return {
    [self](const in_context& x) { x.fn(self); },
    [self, s](const drv_begin& r) -> caf::result<begin_result> {
      s->begins.push_back(r);
      s->log->add("drv.begin");
      return s->begin(self);
    },
    [self, s](const drv_start& r) -> caf::result<bool> {
      s->starts.push_back(r);
      s->log->add("drv.start");
      return s->start(self);
    },
    [self, s](const drv_progress&) -> caf::result<job_stats> {
      ++s->progress_calls;
      return s->progress(self);
    },
    [self, s](const drv_cancel&) -> caf::result<bool> {
      ++s->cancels;
      s->log->add("drv.cancel");
      return s->cancel(self);
    },
    [self, s](const drv_tune& r) -> caf::result<bool> {
      s->tunes.push_back(r);
      s->log->add("drv.tune");
      return s->tune(self);
    },
    [self, s](const drv_confirm& r) -> caf::result<bool> {
      s->confirms.push_back(r);
      s->log->add(std::string{"drv.confirm("} + outcome_name(r.outcome) + ")");
      return s->confirm(self);
    },
    [self, s](const drv_prepare& r) -> caf::result<incoming_endpoint> {
      s->prepares.push_back(r);
      s->log->add("drv.prepare");
      return s->prepare(self);
    },
    [self, s](const drv_finish& r) -> caf::result<int64_t> {
      s->finishes.push_back(r);
      s->log->add(r.success ? "drv.finish(success)" : "drv.finish(failure)");
      return s->finish(self);
    },
    [self, s](const drv_journal_phase& r) -> caf::result<bool> {
      s->journal_phases.push_back(to_string(r.phase));
      s->log->add(std::string{"drv.journal("} + to_string(r.phase) + ")");
      return s->journal(self);
    },
    [s](const drv_watch& r) {
      s->watches.push_back(r);
      s->log->add(r.subscribe ? "drv.watch(on)" : "drv.watch(off)");
      if (r.subscribe)
        s->listener = r.listener;
    },
    [s](const domain_op& r) -> domain_info {
      s->log->add(std::string{"drv."} + to_string(r.verb));
      domain_info out;
      out.name = r.name;
      return out;
    },
  };
}

/// A hypervisor MIGRATION event for the source side, as the test driver
/// reports it.
inline ferry::driver_event migration_event(const std::string& domain,
                                           const std::string& status,
                                           const std::string& direction
                                           = "out") {
  return {"MIGRATION", domain,
          "{\"status\":\"" + status + "\",\"direction\":\"" + direction
            + "\"}"};
}

// -- coordinator peers ------------------------------------------------------------

/// What a fake source or destination (entry and job alike) answers.
struct peer_script {
  peer_script(std::string n, std::shared_ptr<trace> t)
    : name(std::move(n)), log(std::move(t)) {
    confirm.give(true);
  }

  std::string name; ///< Prefix of its trace lines: `source` or `dest`.
  std::shared_ptr<trace> log;

  reply<ferry::begin_cookie> begin;       ///< Entry: mig_begin.
  reply<ferry::prepare_cookie> prepare;   ///< Entry: mig_prepare.
  reply<ferry::job_stats> perform;        ///< Job: mig_perform.
  reply<ferry::finish_cookie> finish_success; ///< Job: mig_finish(true).
  reply<ferry::finish_cookie> finish_failure; ///< Job: mig_finish(false).
  reply<bool> confirm;                    ///< Job: mig_confirm.

  std::vector<ferry::mig_begin> begins;
  std::vector<ferry::mig_prepare> prepares;
  std::vector<ferry::mig_perform> performs;
  std::vector<ferry::mig_finish> finishes;
  std::vector<ferry::mig_confirm> confirms;
};

/// A source or destination agent's entry point (session or job manager)
/// or one of its job actors, answering as `s` says.
inline caf::behavior fake_peer(caf::event_based_actor* self,
                               std::shared_ptr<peer_script> s) {
  using namespace ferry;
  return {
    [self](const in_context& x) { x.fn(self); },
    [self, s](const mig_begin& r) -> caf::result<begin_cookie> {
      s->begins.push_back(r);
      s->log->add(s->name + ".begin");
      return s->begin(self);
    },
    [self, s](const mig_prepare& r) -> caf::result<prepare_cookie> {
      s->prepares.push_back(r);
      s->log->add(s->name + ".prepare");
      return s->prepare(self);
    },
    [self, s](const mig_perform& r) -> caf::result<job_stats> {
      s->performs.push_back(r);
      s->log->add(s->name + ".perform");
      return s->perform(self);
    },
    [self, s](const mig_finish& r) -> caf::result<finish_cookie> {
      s->finishes.push_back(r);
      s->log->add(s->name
                  + (r.success ? ".finish(success)" : ".finish(failure)"));
      return r.success ? s->finish_success(self) : s->finish_failure(self);
    },
    [self, s](const mig_confirm& r) -> caf::result<bool> {
      s->confirms.push_back(r);
      s->log->add(s->name + ".confirm(" + outcome_name(r.outcome) + ")");
      return s->confirm(self);
    },
  };
}

/// The lifecycle events an event-bus probe received, in order.
inline std::vector<ferry::lifecycle_event> published_events(const inbox& box) {
  std::vector<ferry::lifecycle_event> out;
  for (size_t i = 0; i < box.count<ferry::domain_event>(); ++i)
    out.push_back(box.get<ferry::domain_event>(i).kind);
  return out;
}

} // namespace ferry_test
