// The driver's migration phases (libvirt's begin/perform/confirm on the
// source, prepare/finish on the destination), each journalled before it
// acts (docs/recovery.md); hypervisors fill the do_* hooks.

#include "drivers/driver.hpp"

#include <chrono>

#include <unistd.h>

#include "drivers/job_journal.hpp"
#include "util/error.hpp"
#include "util/clock.hpp"
#include "util/faults.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

// -- migration ------------------------------------------------------------------

namespace ferry {

caf::expected<begin_info> driver::migrate_begin(const std::string& name,
                                                const std::string& job_id,
                                                const std::string& dname,
                                                const std::string& dest_uri,
                                                bool undefine_source) {
  auto dom = find(name);
  if (!dom)
    return dom.error();
  auto& d = **dom;
  if (d.state == domain_state::shutoff)
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is not running; only active "
                      "domains migrate");
  if (!d.job_id.empty())
    return make_error(errc::invalid_state, "domain '" + name
                                             + "' is already migrating (job "
                                             + d.job_id + ")");
  if (ctx_.journal) {
    job_record rec;
    rec.job_id = job_id;
    rec.role = job_role::source;
    rec.domain = name;
    rec.driver = this->name();
    rec.phase = mig_phase::begin;
    rec.was_running = d.state == domain_state::running;
    rec.undefine_source = undefine_source;
    rec.dest_uri = dest_uri;
    if (auto err = ctx_.journal->write(std::move(rec)))
      return err;
  }
  d.job_id = job_id;
  begin_info out;
  out.def = d.def;
  if (!dname.empty())
    out.def.name = dname;
  out.was_running = d.state == domain_state::running;
  out.persistent = d.persistent;
  FERRY_INFO(this->name().c_str(), "job " << job_id << ": begin, domain "
                                          << name << " locked");
  return out;
}

caf::error driver::migrate_start(const std::string& name,
                                 const migration_target& target) {
  // The hook owns target.fd; on an early error it is ours to close.
  auto refuse = [&](caf::error err) {
    if (target.fd >= 0)
      ::close(target.fd);
    return err;
  };
  if (auto err = faults::hit("driver.migrate_start"))
    return refuse(err);
  auto dom = find(name);
  if (!dom)
    return refuse(dom.error());
  if (auto err = journal_phase((*dom)->job_id, mig_phase::perform))
    return refuse(err);
  return do_migrate_start(**dom, target);
}

caf::expected<job_stats> driver::migrate_progress(const std::string& name) {
  auto dom = find(name);
  if (!dom)
    return dom.error();
  return do_migrate_progress(**dom);
}

caf::error driver::migrate_cancel(const std::string& name) {
  auto dom = find(name);
  if (!dom)
    return dom.error();
  return do_migrate_cancel(**dom);
}

caf::error driver::migrate_tune(const std::string& name, uint64_t bandwidth,
                                uint32_t downtime_ms) {
  auto dom = find(name);
  if (!dom)
    return dom.error();
  return do_migrate_tune(**dom, bandwidth, downtime_ms);
}

void driver::confirm_committed(domain_entry& d, const std::string& job_id,
                               bool undefine) {
  auto name = d.def.name;
  if (d.state != domain_state::shutoff)
    if (auto err = do_destroy(d))
      FERRY_WARN(this->name().c_str(),
                 "job " << job_id << ": destroying the source copy: "
                        << error_text(err));
  d.job_id.clear();
  if (undefine && d.persistent) {
    d.persistent = false;
    if (auto err = persist(d))
      FERRY_WARN(this->name().c_str(), error_text(err));
  }
  mark_shutoff(name); // may drop `d`
  if (ctx_.journal)
    ctx_.journal->remove(job_id);
  FERRY_INFO(this->name().c_str(), "job " << job_id << ": confirm, " << name
                                          << " now runs on the destination");
}

caf::error driver::confirm_failed(domain_entry& d, const std::string& job_id,
                                  bool was_running) {
  d.job_id.clear();
  if (d.state == domain_state::shutoff) {
    if (ctx_.journal)
      ctx_.journal->remove(job_id);
    return caf::none;
  }
  do_migrate_cancel(d); // stop a transfer that may still run
  if (was_running) {
    if (auto err = do_resume(d))
      return err;
    d.state = domain_state::running;
  } else {
    d.state = domain_state::paused;
  }
  if (ctx_.journal)
    ctx_.journal->remove(job_id);
  FERRY_INFO(this->name().c_str(), "job " << job_id << ": confirm failure, "
                                          << d.def.name << " stays here ("
                                          << to_string(d.state) << ")");
  return caf::none;
}

caf::error driver::confirm_unknown(domain_entry& d,
                                   const std::string& job_id) {
  if (auto err = journal_phase(job_id, mig_phase::outcome_unknown))
    return err;
  d.state = domain_state::paused;
  FERRY_WARN(this->name().c_str(), "job " << job_id << ": outcome unknown, "
                                          << d.def.name
                                          << " kept paused until the "
                                             "destination answers");
  return caf::none;
}

caf::error driver::migrate_confirm(const std::string& name,
                                   const std::string& job_id,
                                   confirm_outcome outcome, bool undefine,
                                   bool was_running) {
  if (auto err = faults::hit("driver.confirm"))
    return err;
  auto dom = held_by(name, job_id);
  if (!dom)
    return dom.error();
  switch (outcome) {
    case confirm_outcome::committed:
      confirm_committed(**dom, job_id, undefine);
      return caf::none;
    case confirm_outcome::failed:
      return confirm_failed(**dom, job_id, was_running);
    case confirm_outcome::unknown:
      return confirm_unknown(**dom, job_id);
  }
  return caf::none;
}

caf::expected<incoming_endpoint>
driver::migrate_prepare(const std::string& job_id, domain_definition def,
                        const incoming_spec& spec) {
  // The hook owns spec.fd; on an early error it is ours to close.
  auto refuse = [&](caf::error err) -> caf::expected<incoming_endpoint> {
    if (spec.fd >= 0)
      ::close(spec.fd);
    return err;
  };
  if (auto err = faults::hit("driver.prepare"))
    return refuse(err);
  if (auto err = check_definition(def))
    return refuse(err);
  auto i = domains_.find(def.name);
  if (i != domains_.end()) {
    auto& existing = i->second;
    if (existing.state != domain_state::shutoff || !existing.job_id.empty())
      return refuse(make_error(errc::domain_exists,
                        "domain '" + def.name
                          + "' is already active on the destination"));
    if (existing.def.uuid != def.uuid)
      return refuse(make_error(errc::domain_exists,
                        "domain '" + def.name
                          + "' is defined on the destination with another "
                            "UUID"));
  }
  for (auto& [n, other] : domains_)
    if (other.def.uuid == def.uuid && n != def.name)
      return refuse(make_error(errc::domain_exists,
                        "the destination already has UUID " + def.uuid
                          + " as domain '" + n + "'"));
  if (ctx_.journal) {
    job_record rec;
    rec.job_id = job_id;
    rec.role = job_role::destination;
    rec.domain = def.name;
    rec.driver = this->name();
    rec.phase = mig_phase::prepare;
    if (auto err = ctx_.journal->write(std::move(rec)))
      return refuse(err);
  }
  bool existed = i != domains_.end();
  auto& dom = adopt(def, false, domain_state::paused);
  dom.job_id = job_id;
  auto res = do_migrate_prepare(dom, spec);
  if (!res) {
    if (existed) {
      dom.state = domain_state::shutoff;
      dom.job_id.clear();
    } else {
      domains_.erase(def.name);
    }
    return res.error();
  }
  FERRY_INFO(this->name().c_str(), "job " << job_id << ": prepare, incoming "
                                          << def.name << " waits paused");
  return res;
}

void driver::abort_incoming(domain_entry& d, const std::string& job_id) {
  auto name = d.def.name;
  if (d.state != domain_state::shutoff)
    do_migrate_cancel(d);
  if (d.state != domain_state::shutoff)
    do_destroy(d);
  d.job_id.clear();
  mark_shutoff(name); // may drop `d`
  journal_phase(job_id, mig_phase::aborted);
}

caf::expected<int64_t> driver::commit_incoming(domain_entry& d,
                                               const std::string& job_id,
                                               bool suspend, bool persistent) {
  // Commit point (docs/architecture.md): recorded durably before anything
  // else; from here the destination owns the domain.
  if (auto err = journal_phase(job_id, mig_phase::committed)) {
    abort_incoming(d, job_id);
    return make_error(errc::migration_failed,
                      "cannot record the commit: " + error_text(err));
  }
  d.job_id.clear();
  if (persistent) {
    d.persistent = true;
    if (auto err = persist(d))
      FERRY_WARN(this->name().c_str(), "job " << job_id << ": "
                                              << error_text(err));
  }
  int64_t resumed_at = 0;
  if (!suspend) {
    if (auto err = do_resume(d)) {
      FERRY_ERROR(this->name().c_str(), "job " << job_id << ": committed but "
                                                  "cannot resume: "
                                               << error_text(err));
      return err;
    }
    d.state = domain_state::running;
    resumed_at = unix_ms();
  }
  FERRY_INFO(this->name().c_str(), "job " << job_id << ": finish, "
                                          << d.def.name << " committed here ("
                                          << to_string(d.state) << ")");
  return resumed_at;
}

caf::expected<int64_t> driver::migrate_finish(const std::string& name,
                                              const std::string& job_id,
                                              bool success, bool suspend,
                                              bool persistent) {
  if (auto err = faults::hit("driver.finish"))
    return err;
  auto dom = held_by(name, job_id);
  if (!dom)
    return dom.error();
  auto& d = **dom;
  if (!success) {
    abort_incoming(d, job_id);
    FERRY_INFO(this->name().c_str(), "job " << job_id << ": finish, incoming "
                                            << name << " torn down");
    return int64_t{0};
  }
  if (auto err = do_check_incoming(d)) {
    abort_incoming(d, job_id);
    return make_error(errc::migration_failed,
                      "the destination did not receive a complete, verified "
                      "domain: "
                        + error_text(err));
  }
  return commit_incoming(d, job_id, suspend, persistent);
}

} // namespace ferry
