// Scenario verbs for faults: processes (kill, stop, cont, restart), links
// (cut, restore, delay) and the agents' own fault points (arm), each now,
// after a delay, when a job reaches a phase, or at a share of its data.

#include "messages/all.hpp"
#include "tools/scenario/scenario_runner.hpp"
#include "util/faults.hpp"

namespace ferry::scenario {

namespace {

caf::expected<mig_phase> parse_phase(const std::string& s) {
  for (auto p : {mig_phase::begin, mig_phase::prepare, mig_phase::perform,
                 mig_phase::finish, mig_phase::confirm, mig_phase::done})
    if (s == to_string(p))
      return p;
  return make_error(errc::invalid_argument,
                    "unknown phase '" + s
                      + "' (begin, prepare, perform, finish, confirm)");
}

} // namespace

void scenario_runner::start_trigger(const std::vector<std::string>& a,
                                    size_t at, std::function<void()> act) {
  if (at >= a.size()) {
    act();
    return;
  }
  auto fail = [this](std::string why) {
    std::lock_guard<std::mutex> guard{trigger_mtx_};
    trigger_errors_.push_back(std::move(why));
  };
  if (a[at] == "after" && at + 1 < a.size()) {
    auto d = parse_duration(a[at + 1]);
    if (!d)
      throw std::runtime_error(error_text(d.error()));
    triggers_.emplace_back([this, d = *d, act] {
      auto until = std::chrono::steady_clock::now() + d;
      while (!stopping_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
      if (!stopping_)
        act();
    });
    return;
  }
  if (a[at] != "when" || at + 3 >= a.size())
    throw std::runtime_error("a trigger is `after DURATION`, `when JOB "
                             "reaches PHASE` or `when JOB at PCT%`");
  auto i = jobs_.find(a[at + 1]);
  if (i == jobs_.end())
    throw std::runtime_error("no job named " + a[at + 1]
                             + " (start it in the background first)");
  auto* job = i->second.get();
  auto what = a[at + 2];
  auto arg = a[at + 3];
  std::function<bool(const job_stats&)> reached;
  if (what == "reaches") {
    auto phase = parse_phase(arg);
    if (!phase)
      throw std::runtime_error(error_text(phase.error()));
    reached = [p = *phase](const job_stats& s) {
      return s.phase >= p && s.phase <= mig_phase::done;
    };
  } else if (what == "at" && !arg.empty() && arg.back() == '%') {
    auto pct = std::stod(arg.substr(0, arg.size() - 1));
    reached = [pct](const job_stats& s) {
      return s.phase == mig_phase::perform && s.data_total > 0
             && static_cast<double>(s.data_processed) * 100
                  >= pct * static_cast<double>(s.data_total);
    };
  } else {
    throw std::runtime_error("expected `when JOB reaches PHASE` or `when JOB "
                             "at PCT%`");
  }
  auto label = a[at + 1] + " " + what + " " + arg;
  triggers_.emplace_back([this, job, reached, act, label, fail] {
    while (!stopping_) {
      job_stats s;
      {
        std::lock_guard<std::mutex> guard{job->stats_mtx};
        s = job->last_stats;
      }
      if (reached(s)) {
        act();
        return;
      }
      if (job->done) {
        fail("the fault for '" + label + "' never fired: the job ended first ("
             + (job->result ? error_text(job->result) : "succeeded") + ")");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  });
}

std::string scenario_runner::link_fault(const std::string& kind,
                                        const std::string& a,
                                        const std::string& b,
                                        std::chrono::milliseconds delay) {
  if (net_ != nullptr) {
    if (kind == "cut")
      return net_->cut(a, b);
    if (kind == "restore")
      return net_->restore(a, b);
    return net_->delay(a, b, delay);
  }
  // On loopback the proxies standing for A->B (agent and hypervisor ports)
  // carry what the source sends to the destination.
  for (bool hv : {false, true}) {
    auto& proxy = link(a, b, hv);
    if (kind == "cut")
      proxy.cut();
    else if (kind == "restore")
      proxy.restore();
    else
      proxy.set_delay(delay);
  }
  return "";
}

void scenario_runner::add_fault_verbs() {
  interp_.add(
    "fault",
    "kill|stop|cont|restart NODE [TRIGGER] | arm NODE POINT ACTION [N] | "
    "cut|restore A B [TRIGGER] | delay A B DURATION",
    "break something; TRIGGER: after D | when JOB reaches PHASE | when JOB "
    "at PCT%",
    [this](const std::vector<std::string>& a) -> caf::error {
      if (a.size() < 2)
        return make_error(errc::invalid_argument, "usage: fault KIND ...");
      auto kind = a[0];
      if (kind == "kill" || kind == "stop" || kind == "cont"
          || kind == "restart") {
        auto name = a[1];
        auto* n = &node(name);
        start_trigger(a, 2, [this, kind, name, n] {
          if (kind == "kill") {
            n->kill();
          } else if (kind == "stop") {
            n->freeze();
          } else if (kind == "cont") {
            n->thaw();
          } else {
            n->kill();
            auto err = n->start();
            if (!err.empty()) {
              std::lock_guard<std::mutex> guard{trigger_mtx_};
              trigger_errors_.push_back("restart of " + name + ": " + err);
            }
          }
          if (verbose_)
            log_ << "    fault: " << kind << " " << name << "\n";
        });
        if (kind == "kill" || kind == "restart")
          if (a.size() == 2)
            forget_sessions(name);
        return caf::none;
      }
      if (kind == "arm") {
        if (a.size() < 4)
          return make_error(errc::invalid_argument,
                            "usage: fault arm NODE POINT fail|crash|freeze "
                            "[COUNT]");
        std::vector<std::string> words{"inject-fault", a[2], a[3]};
        if (a.size() > 4)
          words.push_back(a[4]);
        return cli_on(a[1], words, nullptr);
      }
      if (kind == "cut" || kind == "restore" || kind == "delay") {
        if (a.size() < 3)
          return make_error(errc::invalid_argument,
                            "usage: fault " + kind + " A B ...");
        node(a[1]);
        node(a[2]);
        if (kind == "delay") {
          if (a.size() != 4)
            return make_error(errc::invalid_argument,
                              "usage: fault delay A B DURATION");
          auto d = parse_duration(a[3]);
          if (!d)
            return d.error();
          auto err = link_fault(kind, a[1], a[2], *d);
          if (!err.empty())
            return make_error(errc::internal, err);
          return caf::none;
        }
        // Create the proxies now, not in the trigger's thread.
        if (net_ == nullptr) {
          link(a[1], a[2], false);
          link(a[1], a[2], true);
        }
        start_trigger(a, 3, [this, kind, x = a[1], y = a[2]] {
          auto err = link_fault(kind, x, y);
          if (verbose_)
            log_ << "    fault: " << kind << " " << x << " " << y << "\n";
          if (!err.empty()) {
            std::lock_guard<std::mutex> guard{trigger_mtx_};
            trigger_errors_.push_back("fault " + kind + " " + x + " " + y
                                      + ": " + err);
          }
        });
        return caf::none;
      }
      return make_error(errc::invalid_argument, "unknown fault '" + kind + "'");
    });
}

} // namespace ferry::scenario
