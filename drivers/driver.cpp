#include "drivers/driver.hpp"

#include <chrono>

#include <unistd.h>

#include "messages/error.hpp"
#include "drivers/job_journal.hpp"
#include "util/faults.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ferry {

driver::driver(driver_context ctx) : ctx_(std::move(ctx)) {
}

driver::~driver() = default;

std::string driver::definition_path(const std::string& name) const {
  return ctx_.state_dir + "/domains/" + name + ".xml";
}

caf::error driver::open() {
  auto dir = ctx_.state_dir + "/domains";
  if (auto err = files::make_dirs(dir))
    return err;
  for (auto& file : files::list(dir, ".xml")) {
    auto text = files::read(dir + "/" + file);
    if (!text) {
      FERRY_ERROR(name().c_str(), error_text(text.error()));
      continue;
    }
    auto def = parse_domain_xml(*text);
    if (!def) {
      FERRY_ERROR(name().c_str(), "skipping " << file << ": "
                                              << error_text(def.error()));
      continue;
    }
    domain_entry dom;
    dom.def = std::move(*def);
    dom.persistent = true;
    domains_.emplace(dom.def.name, std::move(dom));
  }
  FERRY_INFO(name().c_str(), "loaded " << domains_.size()
                                       << " persistent definitions");
  return do_open();
}

void driver::close() {
  do_close();
}

caf::expected<domain_entry*> driver::find(const std::string& name) {
  auto i = domains_.find(name);
  if (i == domains_.end())
    return make_error(errc::no_such_domain,
                      "domain '" + name + "' not found on driver "
                        + this->name());
  return &i->second;
}

domain_info driver::to_info(const domain_entry& dom) const {
  domain_info info;
  info.name = dom.def.name;
  info.uuid = dom.def.uuid;
  info.state = dom.state;
  info.memory_bytes = dom.def.memory_bytes;
  info.vcpus = dom.def.vcpus;
  info.persistent = dom.persistent;
  info.driver = name();
  info.job_id = dom.job_id;
  return info;
}

std::vector<domain_info> driver::list(bool all) const {
  std::vector<domain_info> out;
  for (auto& [name, dom] : domains_)
    if (all || dom.state != domain_state::shutoff)
      out.push_back(to_info(dom));
  return out;
}

caf::error driver::persist(const domain_entry& dom) {
  auto path = definition_path(dom.def.name);
  if (!dom.persistent)
    return files::remove(path);
  return files::write_atomic(path, to_xml(dom.def));
}

caf::expected<domain_info> driver::define(const std::string& xml) {
  auto def = parse_domain_xml(xml);
  if (!def)
    return def.error();
  if (auto err = check_definition(*def))
    return err;
  for (auto& [name, dom] : domains_)
    if (dom.def.uuid == def->uuid && name != def->name)
      return make_error(errc::domain_exists,
                        "domain '" + name + "' already has UUID " + def->uuid);
  auto i = domains_.find(def->name);
  if (i != domains_.end()) {
    auto& dom = i->second;
    if (dom.def.uuid != def->uuid)
      return make_error(errc::domain_exists,
                        "domain '" + def->name
                          + "' already exists with another UUID");
    if (dom.state != domain_state::shutoff)
      return make_error(errc::invalid_state,
                        "domain '" + def->name
                          + "' is active; destroy it before redefining");
    auto old = dom;
    dom.def = std::move(*def);
    dom.persistent = true;
    if (auto err = persist(dom)) {
      dom = std::move(old);
      return err;
    }
    FERRY_INFO(name().c_str(), "redefined domain " << dom.def.name);
    return to_info(dom);
  }
  domain_entry dom;
  dom.def = std::move(*def);
  dom.persistent = true;
  if (auto err = persist(dom))
    return err;
  auto& added = domains_.emplace(dom.def.name, std::move(dom)).first->second;
  FERRY_INFO(name().c_str(), "defined domain " << added.def.name);
  return to_info(added);
}

caf::error driver::undefine(const std::string& name) {
  auto dom = find(name);
  if (!dom)
    return dom.error();
  if (!(*dom)->persistent)
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is transient (not defined)");
  if (!(*dom)->job_id.empty())
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is migrating (job "
                        + (*dom)->job_id + ")");
  (*dom)->persistent = false;
  if (auto err = persist(**dom)) {
    (*dom)->persistent = true;
    return err;
  }
  if ((*dom)->state == domain_state::shutoff)
    domains_.erase(name);
  FERRY_INFO(this->name().c_str(), "undefined domain " << name);
  return caf::none;
}

caf::error driver::start(const std::string& name) {
  if (auto err = faults::hit("driver.start"))
    return err;
  auto dom = find(name);
  if (!dom)
    return dom.error();
  if ((*dom)->state != domain_state::shutoff)
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is already active");
  if (auto err = do_start(**dom))
    return err;
  (*dom)->state = domain_state::running;
  FERRY_INFO(this->name().c_str(), "started domain " << name);
  return caf::none;
}

caf::error driver::destroy(const std::string& name) {
  if (auto err = faults::hit("driver.destroy"))
    return err;
  auto dom = find(name);
  if (!dom)
    return dom.error();
  if ((*dom)->state == domain_state::shutoff)
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is not running");
  if (!(*dom)->job_id.empty())
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is migrating (job "
                        + (*dom)->job_id + "); use domjobabort first");
  if (auto err = do_destroy(**dom))
    return err;
  mark_shutoff(name);
  FERRY_INFO(this->name().c_str(), "destroyed domain " << name);
  return caf::none;
}

caf::error driver::suspend(const std::string& name) {
  if (auto err = faults::hit("driver.suspend"))
    return err;
  auto dom = find(name);
  if (!dom)
    return dom.error();
  if ((*dom)->state != domain_state::running)
    return make_error(errc::invalid_state, "domain '" + name + "' is "
                                             + to_string((*dom)->state)
                                             + ", not running");
  if (auto err = do_suspend(**dom))
    return err;
  (*dom)->state = domain_state::paused;
  FERRY_INFO(this->name().c_str(), "suspended domain " << name);
  return caf::none;
}

caf::error driver::resume(const std::string& name) {
  if (auto err = faults::hit("driver.resume"))
    return err;
  auto dom = find(name);
  if (!dom)
    return dom.error();
  if ((*dom)->state != domain_state::paused)
    return make_error(errc::invalid_state, "domain '" + name + "' is "
                                             + to_string((*dom)->state)
                                             + ", not paused");
  if (!(*dom)->job_id.empty())
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is migrating (job "
                        + (*dom)->job_id + ")");
  if (auto err = do_resume(**dom))
    return err;
  (*dom)->state = domain_state::running;
  FERRY_INFO(this->name().c_str(), "resumed domain " << name);
  return caf::none;
}

caf::expected<domain_info> driver::info(const std::string& name) const {
  auto i = domains_.find(name);
  if (i == domains_.end())
    return make_error(errc::no_such_domain,
                      "domain '" + name + "' not found on driver "
                        + this->name());
  return to_info(i->second);
}

caf::expected<std::string> driver::xml(const std::string& name) const {
  auto i = domains_.find(name);
  if (i == domains_.end())
    return make_error(errc::no_such_domain,
                      "domain '" + name + "' not found on driver "
                        + this->name());
  return to_xml(i->second.def);
}

caf::expected<domain_digest> driver::digest(const std::string& name) {
  auto dom = find(name);
  if (!dom)
    return dom.error();
  if ((*dom)->state == domain_state::shutoff)
    return make_error(errc::invalid_state,
                      "domain '" + name + "' is shut off and has no RAM");
  return do_digest(**dom);
}

driver_info driver::describe() const {
  driver_info out;
  out.name = name();
  out.hypervisor_uri = hypervisor_uri();
  for (auto& [n, dom] : domains_) {
    ++out.domains;
    if (dom.state != domain_state::shutoff)
      ++out.active;
  }
  return out;
}

void driver::mark_shutoff(const std::string& name) {
  auto i = domains_.find(name);
  if (i == domains_.end())
    return;
  if (!i->second.persistent) {
    domains_.erase(i);
    return;
  }
  i->second.state = domain_state::shutoff;
  i->second.job_id.clear();
}

domain_entry& driver::adopt(domain_definition def, bool persistent,
                            domain_state state) {
  auto& dom = domains_[def.name];
  auto was_persistent = dom.persistent;
  dom.def = std::move(def);
  dom.persistent = persistent || was_persistent;
  dom.state = state;
  return dom;
}

void driver::handle_event(const driver_event&) {
  // Subclasses react to hypervisor events; the default ignores them.
}

} // namespace ferry

// -- migration ------------------------------------------------------------------

namespace ferry {

namespace {

caf::error no_migration(const driver& d) {
  return make_error(errc::unsupported,
                    "driver " + d.name() + " cannot migrate domains");
}

} // namespace

caf::error driver::do_migrate_start(const domain_entry&,
                                    const migration_target&) {
  return no_migration(*this);
}

caf::expected<job_stats> driver::do_migrate_progress(const domain_entry&) {
  return no_migration(*this);
}

caf::error driver::do_migrate_cancel(const domain_entry&) {
  return no_migration(*this);
}

caf::error driver::do_migrate_tune(const domain_entry&, uint64_t, uint32_t) {
  return no_migration(*this);
}

caf::expected<incoming_endpoint>
driver::do_migrate_prepare(const domain_entry&, const incoming_spec&) {
  return no_migration(*this);
}

caf::error driver::do_check_incoming(const domain_entry&) {
  return no_migration(*this);
}

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
    rec.role = "source";
    rec.domain = name;
    rec.driver = this->name();
    rec.phase = "begin";
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
  if (auto err = journal_phase((*dom)->job_id, "perform"))
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

caf::error driver::migrate_confirm(const std::string& name,
                                   const std::string& job_id,
                                   confirm_outcome outcome, bool undefine,
                                   bool was_running) {
  if (auto err = faults::hit("driver.confirm"))
    return err;
  auto dom = find(name);
  if (!dom)
    return dom.error();
  auto& d = **dom;
  if (d.job_id != job_id)
    return make_error(errc::stale_message,
                      "domain '" + name + "' is not held by job " + job_id);
  switch (outcome) {
    case confirm_outcome::committed: {
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
      mark_shutoff(name);
      if (ctx_.journal)
        ctx_.journal->remove(job_id);
      FERRY_INFO(this->name().c_str(), "job " << job_id << ": confirm, "
                                              << name
                                              << " now runs on the destination");
      return caf::none;
    }
    case confirm_outcome::failed: {
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
                                              << name << " stays here ("
                                              << to_string(d.state) << ")");
      return caf::none;
    }
    case confirm_outcome::unknown:
      if (auto err = journal_phase(job_id, "outcome-unknown"))
        return err;
      d.state = domain_state::paused;
      FERRY_WARN(this->name().c_str(), "job " << job_id << ": outcome unknown, "
                                              << name
                                              << " kept paused until the "
                                                 "destination answers");
      return caf::none;
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
    rec.role = "destination";
    rec.domain = def.name;
    rec.driver = this->name();
    rec.phase = "prepared";
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

caf::expected<int64_t> driver::migrate_finish(const std::string& name,
                                              const std::string& job_id,
                                              bool success, bool suspend,
                                              bool persistent) {
  if (auto err = faults::hit("driver.finish"))
    return err;
  auto dom = find(name);
  if (!dom)
    return dom.error();
  auto& d = **dom;
  if (d.job_id != job_id)
    return make_error(errc::stale_message,
                      "domain '" + name + "' is not held by job " + job_id);
  auto tear_down = [&] {
    if (d.state != domain_state::shutoff)
      do_migrate_cancel(d);
    if (d.state != domain_state::shutoff)
      do_destroy(d);
    d.job_id.clear();
    mark_shutoff(name);
    journal_phase(job_id, "aborted");
  };
  if (!success) {
    tear_down();
    FERRY_INFO(this->name().c_str(), "job " << job_id << ": finish, incoming "
                                            << name << " torn down");
    return int64_t{0};
  }
  if (auto err = do_check_incoming(d)) {
    tear_down();
    return make_error(errc::migration_failed,
                      "the destination did not receive a complete, verified "
                      "domain: "
                        + error_text(err));
  }
  // Commit point (DESIGN §2): recorded durably before anything else; from
  // here the destination owns the domain.
  if (auto err = journal_phase(job_id, "committed")) {
    tear_down();
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
    resumed_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  }
  FERRY_INFO(this->name().c_str(), "job " << job_id << ": finish, " << name
                                          << " committed here ("
                                          << to_string(d.state) << ")");
  return resumed_at;
}

} // namespace ferry

namespace ferry {

caf::error driver::journal_phase(const std::string& job_id,
                                 const std::string& phase) {
  if (!ctx_.journal || job_id.empty())
    return caf::none;
  auto rec = ctx_.journal->find(job_id);
  if (!rec)
    return caf::none;
  rec->phase = phase;
  return ctx_.journal->write(std::move(*rec));
}

caf::expected<bool> driver::recover(const job_record& rec) {
  auto i = domains_.find(rec.domain);
  bool active = i != domains_.end() && i->second.state != domain_state::shutoff;
  auto forget = [&] {
    if (ctx_.journal)
      ctx_.journal->remove(rec.job_id);
  };
  if (rec.role == "destination") {
    if (rec.phase == "prepared") {
      // Never committed: the incoming copy must not survive.
      if (active) {
        do_migrate_cancel(i->second);
        do_destroy(i->second);
        mark_shutoff(rec.domain);
      }
      journal_phase(rec.job_id, "aborted");
      FERRY_INFO(name().c_str(), "recovery: job " << rec.job_id
                                                  << " never committed here; "
                                                  << rec.domain
                                                  << " torn down");
    } else if (rec.phase == "committed") {
      if (i != domains_.end())
        i->second.job_id.clear();
      if (!active) {
        // Committed, then the guest died with the agent (test guests do):
        // the source's paused copy is the only one left; tell it so.
        journal_phase(rec.job_id, "lost");
        FERRY_WARN(name().c_str(), "recovery: job " << rec.job_id
                                                    << " committed here but "
                                                    << rec.domain
                                                    << " died with the agent; "
                                                       "the source may resume "
                                                       "its copy");
      }
    }
    return false;
  }
  // Source.
  if (!active) {
    FERRY_WARN(name().c_str(),
               "recovery: job " << rec.job_id << " (" << rec.phase << "): "
                                << rec.domain
                                << " is no longer active here (test guests "
                                   "die with their agent); forgetting it");
    forget();
    return false;
  }
  auto& d = i->second;
  if (rec.phase == "begin" || rec.phase == "perform") {
    // The data was never verified by the destination: finish cannot have
    // committed, so the source keeps the domain.
    do_migrate_cancel(d);
    if (rec.was_running && d.state == domain_state::paused
        && !do_resume(d))
      d.state = domain_state::running;
    d.job_id.clear();
    forget();
    FERRY_INFO(name().c_str(), "recovery: job " << rec.job_id << " ("
                                                << rec.phase << ") undone; "
                                                << rec.domain << " stays here");
    return false;
  }
  // verified or outcome-unknown: the destination may own it now.
  d.job_id = rec.job_id;
  d.state = domain_state::paused;
  FERRY_WARN(name().c_str(), "recovery: job " << rec.job_id << ": outcome "
                                                 "unknown; "
                                              << rec.domain
                                              << " kept paused until the "
                                                 "destination answers");
  return true;
}

} // namespace ferry
