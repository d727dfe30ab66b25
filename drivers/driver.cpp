#include "drivers/driver.hpp"

#include <chrono>

#include <unistd.h>

#include "util/error.hpp"
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

caf::expected<domain_entry*> driver::held_by(const std::string& name,
                                             const std::string& job_id) {
  auto dom = find(name);
  if (dom && (*dom)->job_id != job_id)
    return make_error(errc::stale_message,
                      "domain '" + name + "' is not held by job " + job_id);
  return dom;
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
  info.ignored = dom.def.ignored;
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
