#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

namespace ferry {

/// A domain's lifecycle transitions around migration, after libvirt's
/// VIR_DOMAIN_EVENT_* with detail MIGRATED (`virsh event --loop` prints them
/// the same way: `started-migrated`, …).
enum class lifecycle_event : uint8_t {
  /// Destination: finish committed, the domain is now owned here.
  started_migrated = 0,
  /// Source: confirm applied a commit, the source copy is gone.
  stopped_migrated,
  /// Destination: the guest runs after finish (not with --suspend);
  /// source: the guest runs again after a failed migration paused it.
  resumed_migrated,
  /// Source: the answer to finish was lost; the guest stays paused until
  /// the destination says what became of the job.
  suspended_outcome_unknown,
  /// Either side: the migration failed (the reason is in the detail).
  failed,
};

/// The last valid `lifecycle_event` (checked when one arrives).
constexpr uint8_t lifecycle_event_max =
  static_cast<uint8_t>(lifecycle_event::failed);

inline const char* to_string(lifecycle_event e) {
  switch (e) {
    case lifecycle_event::started_migrated: return "started-migrated";
    case lifecycle_event::stopped_migrated: return "stopped-migrated";
    case lifecycle_event::resumed_migrated: return "resumed-migrated";
    case lifecycle_event::suspended_outcome_unknown:
      return "suspended-outcome-unknown";
    case lifecycle_event::failed: return "failed";
  }
  return "unknown";
}

/// Longest strings a domain_event or subscription may carry. An agent's
/// events reach clients, and a subscription comes from a client: both are
/// checked when they are loaded from the wire.
constexpr size_t max_event_name_len = 256;   ///< Domain and agent names.
constexpr size_t max_event_job_len = 64;     ///< Job ids.
constexpr size_t max_event_detail_len = 1024; ///< Free text (a reason).

/// One event on an agent's event bus, sent to every subscriber whose
/// filter matches (`ferry event`).
struct domain_event {
  std::string agent;  ///< The agent that emitted it.
  std::string domain; ///< The domain's name on that agent.
  lifecycle_event kind = lifecycle_event::failed;
  std::string job_id; ///< The migration job; empty when unknown (direct).
  int64_t unix_ms = 0;
  std::string detail; ///< E.g. the mode, or why the migration failed.
};

/// Checks a loaded domain_event's bounds.
inline caf::error check_event(const domain_event& x) {
  if (x.agent.size() > max_event_name_len
      || x.domain.size() > max_event_name_len
      || x.job_id.size() > max_event_job_len
      || x.detail.size() > max_event_detail_len
      || static_cast<uint8_t>(x.kind) > lifecycle_event_max)
    return caf::make_error(caf::sec::invalid_argument,
                           "domain_event exceeds its limits");
  return caf::none;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_event& x) {
  return f(caf::meta::type_name("ferry.domain_event"), x.agent, x.domain,
           x.kind, x.job_id, x.unix_ms, x.detail,
           caf::meta::load_callback([&x] { return check_event(x); }));
}

/// `ferry event`: client to session (role read). The sender receives every
/// later domain_event (of `domain` only, unless it is empty), relayed by
/// its session, until it or its session goes away; a second subscription
/// replaces the first. Within the agent, the session subscribes itself to
/// the event bus the same way. Answered with `true`, or an error when the
/// bus is full.
struct subscribe_events {
  std::string domain; ///< Filter; empty: every domain.
};

/// Checks a loaded subscription's bounds.
inline caf::error check_subscription(const subscribe_events& x) {
  if (x.domain.size() > max_event_name_len)
    return caf::make_error(caf::sec::invalid_argument,
                           "subscribe_events: domain name too long");
  return caf::none;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_events& x) {
  return f(caf::meta::type_name("ferry.subscribe_events"), x.domain,
           caf::meta::load_callback([&x] { return check_subscription(x); }));
}

/// Publishes one event on `bus`, stamped with the current time; does
/// nothing if `bus` is invalid (unit tests, tools without a bus).
void publish_event(const caf::actor& bus, std::string domain,
                   lifecycle_event kind, std::string job_id,
                   std::string detail = {});

} // namespace ferry
