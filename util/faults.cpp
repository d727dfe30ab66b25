#include "util/faults.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <mutex>

#include <unistd.h>

#include "util/error.hpp"
#include "util/log.hpp"

namespace ferry::faults {

namespace {

struct armed_fault {
  action act = action::fail;
  uint32_t remaining = 0;
};

std::atomic<bool> enabled_{false};
std::atomic<int> armed_count_{0};
std::mutex mtx_;
std::map<std::string, armed_fault> armed_;

} // namespace

bool parse_action(const std::string& text, action& out) {
  if (text == "fail")
    out = action::fail;
  else if (text == "crash")
    out = action::crash;
  else if (text == "freeze")
    out = action::freeze;
  else
    return false;
  return true;
}

void enable(bool on) {
  enabled_ = on;
}

bool enabled() {
  return enabled_;
}

const std::vector<std::string>& points() {
  static const std::vector<std::string> all{
    // Driver operations (both drivers).
    "driver.start", "driver.destroy", "driver.suspend", "driver.resume",
    "driver.migrate_start", "driver.prepare", "driver.finish",
    "driver.confirm",
    // Phases of a migration job, where they run.
    "source.begin", "source.perform", "source.verified", "source.confirm",
    "dest.prepare", "dest.finish", "dest.committed",
    "coordinator.begin", "coordinator.prepare", "coordinator.perform",
    "coordinator.finish", "coordinator.confirm",
  };
  return all;
}

caf::error arm(const std::string& point, action act, uint32_t count) {
  if (!enabled_)
    return make_error(errc::permission_denied,
                      "fault injection is disabled (start ferryd with "
                      "--fault-injection, for tests only)");
  auto& all = points();
  if (std::find(all.begin(), all.end(), point) == all.end())
    return make_error(errc::invalid_argument,
                      "unknown fault point '" + point + "'");
  std::lock_guard<std::mutex> guard{mtx_};
  if (count == 0) {
    armed_.erase(point);
  } else {
    armed_[point] = armed_fault{act, count};
  }
  armed_count_ = static_cast<int>(armed_.size());
  FERRY_WARN("faults", "armed " << point << " x" << count);
  return caf::none;
}

void clear() {
  std::lock_guard<std::mutex> guard{mtx_};
  armed_.clear();
  armed_count_ = 0;
}

caf::error hit(const char* point) {
  if (armed_count_.load(std::memory_order_relaxed) == 0)
    return caf::none;
  action act;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = armed_.find(point);
    if (i == armed_.end())
      return caf::none;
    act = i->second.act;
    if (--i->second.remaining == 0)
      armed_.erase(i);
    armed_count_ = static_cast<int>(armed_.size());
  }
  switch (act) {
    case action::fail:
      FERRY_WARN("faults", "injected failure at " << point);
      return make_error(errc::hypervisor_error,
                        std::string{"injected fault at "} + point);
    case action::crash:
      FERRY_WARN("faults", "injected crash at " << point);
      ::kill(::getpid(), SIGKILL);
      break;
    case action::freeze:
      FERRY_WARN("faults", "injected freeze at " << point);
      ::kill(::getpid(), SIGSTOP);
      break;
  }
  return caf::none;
}

} // namespace ferry::faults
