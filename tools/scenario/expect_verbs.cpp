// Scenario expectations: job results, domain states, ownership (exactly
// one node runs a domain) and digests. State expectations are polled until
// they hold or their bound (default 5s) passes.

#include <sstream>

#include "messages/all.hpp"
#include "tools/scenario/scenario_runner.hpp"
#include "util/files.hpp"

namespace ferry::scenario {

namespace {

caf::error check_result(const std::string& what, const caf::error& result,
                        const std::vector<std::string>& a, size_t at) {
  if (at >= a.size())
    return make_error(errc::invalid_argument,
                      "expected `ok` or `fails [\"TEXT\"]`");
  if (a[at] == "ok") {
    if (result)
      return make_error(errc::migration_failed,
                        what + " failed: " + error_text(result));
    return caf::none;
  }
  if (a[at] == "fails") {
    if (!result)
      return make_error(errc::migration_failed,
                        what + " succeeded, but should have failed");
    if (at + 1 < a.size()
        && error_text(result).find(a[at + 1]) == std::string::npos)
      return make_error(errc::migration_failed,
                        what + " failed with '" + error_text(result)
                          + "', expected '" + a[at + 1] + "'");
    return caf::none;
  }
  return make_error(errc::invalid_argument,
                    "expected `ok` or `fails`, got '" + a[at] + "'");
}

/// Splits off a trailing `within DURATION` (default 5s).
std::chrono::milliseconds bound_of(std::vector<std::string>& a) {
  if (a.size() >= 2 && a[a.size() - 2] == "within") {
    auto d = parse_duration(a.back());
    if (!d)
      throw std::runtime_error(error_text(d.error()));
    a.resize(a.size() - 2);
    return *d;
  }
  return std::chrono::milliseconds{5000};
}

std::string normalise(const std::string& state) {
  return state == "shutoff" ? "shut off" : state;
}

} // namespace

void scenario_runner::add_expect_verbs() {
  interp_.add(
    "expect",
    "last|job JOB ok|fails [TEXT] | state NODE DOM STATE | runs DOM on NODE "
    "| one-runs DOM | nowhere DOM | digest NODE DOM == NAME|NODE DOM | "
    "output TEXT | log NODE TEXT  [within D]",
    "check what happened (states are polled until they hold)",
    [this](const std::vector<std::string>& args) -> caf::error {
      auto a = args;
      if (a.empty())
        return make_error(errc::invalid_argument, "usage: expect WHAT ...");
      auto kind = a[0];
      if (kind == "last")
        return check_result("the last command", last_, a, 1);
      if (kind == "job") {
        if (a.size() < 3)
          return make_error(errc::invalid_argument,
                            "usage: expect job JOB ok|fails [TEXT]");
        auto i = jobs_.find(a[1]);
        if (i == jobs_.end())
          return make_error(errc::invalid_argument, "no job named " + a[1]);
        if (!i->second->done)
          return make_error(errc::invalid_state,
                            "job " + a[1] + " still runs (wait for it)");
        return check_result("job " + a[1], i->second->result, a, 2);
      }
      if (kind == "output") {
        if (a.size() != 2)
          return make_error(errc::invalid_argument,
                            "usage: expect output TEXT");
        if (last_output_.find(a[1]) == std::string::npos)
          return make_error(errc::migration_failed,
                            "output lacks '" + a[1] + "': " + last_output_);
        return caf::none;
      }
      auto bound = bound_of(a);
      // Polls `holds` until true or the bound passes; `describe` explains.
      auto poll = [&](std::function<bool()> holds,
                      std::function<std::string()> describe) -> caf::error {
        auto deadline = std::chrono::steady_clock::now() + bound;
        for (;;) {
          if (holds())
            return caf::none;
          if (std::chrono::steady_clock::now() >= deadline)
            return make_error(errc::migration_failed, describe());
          std::this_thread::sleep_for(std::chrono::milliseconds{50});
        }
      };
      auto all_states = [&](const std::string& dom) {
        std::map<std::string, std::string> out;
        for (auto& n : cl_.names())
          out[n] = state_of(n, dom);
        return out;
      };
      auto show = [](const std::map<std::string, std::string>& states) {
        std::ostringstream os;
        for (auto& [n, s] : states)
          os << " " << n << "=" << s;
        return os.str();
      };
      if (kind == "log") {
        // Proves a fault really fired (or an agent really said something):
        // a crash scenario whose crash never happened must not pass.
        if (a.size() != 3)
          return make_error(errc::invalid_argument,
                            "usage: expect log NODE TEXT");
        auto path = node(a[1]).options().log_path;
        return poll(
          [&] {
            auto text = files::read(path);
            return text && text->find(a[2]) != std::string::npos;
          },
          [&] { return "the log of " + a[1] + " lacks '" + a[2] + "'"; });
      }
      if (kind == "state") {
        if (a.size() != 4)
          return make_error(errc::invalid_argument,
                            "usage: expect state NODE DOM STATE");
        auto want = normalise(a[3]);
        std::string seen;
        return poll(
          [&] {
            seen = state_of(a[1], a[2]);
            return seen == want;
          },
          [&] {
            return a[2] + " on " + a[1] + " is " + seen + ", expected "
                   + want;
          });
      }
      if (kind == "runs" || kind == "one-runs" || kind == "nowhere") {
        std::string dom;
        std::string owner;
        if (kind == "runs") {
          if (a.size() != 4 || a[2] != "on")
            return make_error(errc::invalid_argument,
                              "usage: expect runs DOM on NODE");
          dom = a[1];
          owner = a[3];
        } else {
          if (a.size() != 2)
            return make_error(errc::invalid_argument,
                              "usage: expect " + kind + " DOM");
          dom = a[1];
        }
        std::map<std::string, std::string> seen;
        return poll(
          [&] {
            seen = all_states(dom);
            int running = 0;
            for (auto& [n, s] : seen)
              running += s == "running" ? 1 : 0;
            if (kind == "nowhere")
              return running == 0;
            if (kind == "one-runs")
              return running == 1;
            return running == 1 && seen[owner] == "running";
          },
          [&] {
            auto what = kind == "nowhere" ? "no node runs " + dom
                        : kind == "one-runs"
                          ? "exactly one node runs " + dom
                          : "exactly one node runs " + dom + ", and it is "
                              + owner;
            return "expected " + what + "; states:" + show(seen);
          });
      }
      if (kind == "digest") {
        if (a.size() != 5 && a.size() != 6)
          return make_error(errc::invalid_argument,
                            "usage: expect digest NODE DOM == NAME|NODE DOM");
        auto digest = [&](const std::string& n, const std::string& d)
          -> caf::expected<std::string> {
          auto res = ctx(n).call<domain_digest>(get_domain_digest{d});
          if (!res)
            return res.error();
          return res->sha256;
        };
        auto left = digest(a[1], a[2]);
        if (!left)
          return left.error();
        std::string right;
        if (a.size() == 5) {
          auto i = saved_.find(a[4]);
          if (i == saved_.end())
            return make_error(errc::invalid_argument,
                              "no saved digest named " + a[4]);
          right = i->second;
        } else {
          auto r = digest(a[4], a[5]);
          if (!r)
            return r.error();
          right = *r;
        }
        if (*left != right)
          return make_error(errc::migration_failed,
                            "digests differ: " + *left + " vs " + right);
        return caf::none;
      }
      return make_error(errc::invalid_argument,
                        "unknown expectation '" + kind + "'");
    });
  interp_.add("save", "digest NODE DOM as NAME",
              "remember a domain's digest for a later expect",
              [this](const std::vector<std::string>& a) -> caf::error {
                if (a.size() != 5 || a[0] != "digest" || a[3] != "as")
                  return make_error(errc::invalid_argument,
                                    "usage: save digest NODE DOM as NAME");
                auto res = ctx(a[1]).call<domain_digest>(
                  get_domain_digest{a[2]});
                if (!res)
                  return res.error();
                saved_[a[4]] = res->sha256;
                return caf::none;
              });
}

} // namespace ferry::scenario
