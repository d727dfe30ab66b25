#pragma once

#include <cstdint>
#include <iterator>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "util/error.hpp"
#include "messages/migration.hpp"

namespace ferry {

/// `job_control{job_verb::info, DOM, job_info_completed}`: the figures of
/// the domain's last finished job (`domjobinfo --completed`), answered by
/// the job manager from its history instead of by a running job.
constexpr uint64_t job_info_completed = 1;

/// A job tells its job manager its final figures as it ends (local).
struct job_finished {
  std::string driver;
  job_stats stats; ///< phase done or failed; elapsed_ms is the total time.
  /// How resolving an unknown outcome concluded the job ("" if it ended
  /// otherwise): what a late migrate-recover is told.
  std::string resolution;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_finished& x) {
  return f(caf::meta::type_name("ferry.job_finished"), x.driver, x.stats,
           x.resolution);
}

/// The last finished job per domain (and driver), for the newest `capacity`
/// domains: a domain that migrates again replaces its entry and becomes the
/// newest; the oldest domain is forgotten first.
class job_history {
public:
  explicit job_history(size_t capacity = 256) : capacity_(capacity) {
  }

  void add(job_finished rec) {
    auto key = rec.driver + "/" + rec.stats.domain;
    if (auto i = entries_.find(key); i != entries_.end()) {
      order_.erase(i->second.pos);
      entries_.erase(i);
    }
    order_.push_back(key);
    entries_.emplace(key, entry{std::move(rec.driver), std::move(rec.stats),
                                std::move(rec.resolution),
                                std::prev(order_.end())});
    while (entries_.size() > capacity_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }

  /// The newest record of `domain`; with an empty `driver`, of any driver.
  caf::expected<job_stats> find(const std::string& driver,
                                const std::string& domain) const {
    if (auto* e = newest(driver, domain))
      return e->stats;
    return make_error(errc::invalid_state,
                      "no finished migration job for domain '" + domain
                        + "' on this agent");
  }

  /// The newest record of `domain` if resolving its unknown outcome ended
  /// it, `error` saying how: the answer to a migrate-recover that comes
  /// after the automatic retry concluded the job.
  std::optional<job_stats> resolved(const std::string& driver,
                                    const std::string& domain) const {
    auto* e = newest(driver, domain);
    if (e == nullptr || e->resolution.empty())
      return std::nullopt;
    auto out = e->stats;
    out.error = e->resolution;
    return out;
  }

  size_t size() const {
    return entries_.size();
  }

private:
  size_t capacity_;
  std::list<std::string> order_; ///< Oldest first.
  struct entry {
    std::string driver;
    job_stats stats;
    std::string resolution;
    std::list<std::string>::iterator pos; ///< In order_.
  };

  const entry* newest(const std::string& driver,
                      const std::string& domain) const {
    for (auto i = order_.rbegin(); i != order_.rend(); ++i) {
      auto& e = entries_.at(*i);
      if (e.stats.domain == domain && (driver.empty() || e.driver == driver))
        return &e;
    }
    return nullptr;
  }

  std::map<std::string, entry> entries_; ///< By "driver/domain".
};

} // namespace ferry
