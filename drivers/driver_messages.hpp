#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "drivers/job_role.hpp"
#include "drivers/migration_spec.hpp"
#include "messages/migration.hpp"

/// Messages between migration jobs and their local driver actor. They never
/// cross the network (not registered); each mirrors one driver call.
namespace ferry {

/// -> begin_result
struct drv_begin {
  std::string job_id;
  std::string domain;
  std::string dname;
  std::string dest_uri;        ///< Journaled: where to ask after a crash.
  bool undefine_source = false;
  migration_flags flags;       ///< For the data path check (--tls, --secure).
  bool agents_tls = true;      ///< This agent's links use TLS.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_begin& x) {
  return f(caf::meta::type_name("ferry.drv_begin"), x.job_id, x.domain,
           x.dname, x.dest_uri, x.undefine_source, x.flags, x.agents_tls);
}

/// -> bool. Records a job's phase change in the journal (blocking I/O,
/// hence done by the detached driver actor).
struct drv_journal_phase {
  std::string job_id;
  mig_phase phase = mig_phase::begin;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_journal_phase& x) {
  return f(caf::meta::type_name("ferry.drv_journal_phase"), x.job_id, x.phase);
}

/// -> bool: true if the job's outcome must be resolved with the
/// destination (the domain is then locked by the job and paused).
struct drv_recover {
  std::string job_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_recover& x) {
  return f(caf::meta::type_name("ferry.drv_recover"), x.job_id);
}

struct begin_result {
  std::string xml; ///< Destination definition (dname applied).
  bool was_running = false;
  bool persistent = false;
  uint64_t memory_bytes = 0;
  bool native_tls = false; ///< Our side of the native path can do TLS.
  std::string tls_hint;    ///< Why it cannot (for --secure's error).
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, begin_result& x) {
  return f(caf::meta::type_name("ferry.begin_result"), x.xml, x.was_running,
           x.persistent, x.memory_bytes, x.native_tls, x.tls_hint);
}

/// -> bool
struct drv_start {
  std::string domain;
  migration_target target;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_start& x) {
  return f(caf::meta::type_name("ferry.drv_start"), x.domain, x.target);
}

/// -> job_stats
struct drv_progress {
  std::string domain;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_progress& x) {
  return f(caf::meta::type_name("ferry.drv_progress"), x.domain);
}

/// -> bool
struct drv_cancel {
  std::string domain;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_cancel& x) {
  return f(caf::meta::type_name("ferry.drv_cancel"), x.domain);
}

/// -> bool. `bandwidth` UINT64_MAX or `downtime_ms` 0 = unchanged.
struct drv_tune {
  std::string domain;
  uint64_t bandwidth = UINT64_MAX;
  uint32_t downtime_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_tune& x) {
  return f(caf::meta::type_name("ferry.drv_tune"), x.domain, x.bandwidth,
           x.downtime_ms);
}

/// -> bool
struct drv_confirm {
  std::string domain;
  std::string job_id;
  confirm_outcome outcome = confirm_outcome::failed;
  bool undefine = false;
  bool was_running = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_confirm& x) {
  return f(caf::meta::type_name("ferry.drv_confirm"), x.domain, x.job_id,
           x.outcome, x.undefine, x.was_running);
}

/// -> incoming_endpoint. The driver actor checks `flags` against the
/// driver's data path first and sets `spec.tls` from it (native).
struct drv_prepare {
  std::string job_id;
  std::string xml;
  incoming_spec spec;
  migration_flags flags;
  bool agents_tls = true; ///< This agent's links use TLS.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_prepare& x) {
  return f(caf::meta::type_name("ferry.drv_prepare"), x.job_id, x.xml, x.spec,
           x.flags, x.agents_tls);
}

/// -> int64_t (resume time, Unix ms, or 0)
struct drv_finish {
  std::string domain;
  std::string job_id;
  bool success = false;
  bool suspend = false;
  bool persistent = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_finish& x) {
  return f(caf::meta::type_name("ferry.drv_finish"), x.domain, x.job_id,
           x.success, x.suspend, x.persistent);
}

/// Subscribes `listener` to the domain's hypervisor migration events
/// (forwarded as driver_event), or with `subscribe = false` removes it if it
/// is still the domain's listener (a later job may watch the same name).
struct drv_watch {
  std::string domain;
  caf::actor listener;
  bool subscribe = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, drv_watch& x) {
  return f(caf::meta::type_name("ferry.drv_watch"), x.domain, x.listener,
           x.subscribe);
}

} // namespace ferry
