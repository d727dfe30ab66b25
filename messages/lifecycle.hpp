#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace ferry {

/// `list [--all]`: active domains, or all defined ones.
struct list_domains {
  bool all = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, list_domains& x) {
  return f(caf::meta::type_name("ferry.list_domains"), x.all);
}

/// `define FILE`: define (or redefine) a persistent domain from XML.
struct define_domain {
  std::string xml;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, define_domain& x) {
  return f(caf::meta::type_name("ferry.define_domain"), x.xml);
}

/// Lifecycle verbs that take only a domain name.
enum class domain_verb : uint8_t {
  start = 0,
  destroy,
  suspend,
  resume,
  undefine,
};

inline const char* to_string(domain_verb v) {
  switch (v) {
    case domain_verb::start: return "start";
    case domain_verb::destroy: return "destroy";
    case domain_verb::suspend: return "suspend";
    case domain_verb::resume: return "resume";
    case domain_verb::undefine: return "undefine";
  }
  return "unknown";
}

/// `start|destroy|suspend|resume|undefine DOM`.
struct domain_op {
  domain_verb verb = domain_verb::start;
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, domain_op& x) {
  return f(caf::meta::type_name("ferry.domain_op"), x.verb, x.name);
}

/// `dominfo DOM` -> domain_info.
struct get_domain_info {
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_domain_info& x) {
  return f(caf::meta::type_name("ferry.get_domain_info"), x.name);
}

/// `dumpxml DOM` -> std::string.
struct get_domain_xml {
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_domain_xml& x) {
  return f(caf::meta::type_name("ferry.get_domain_xml"), x.name);
}

/// `domdigest DOM` -> domain_digest.
struct get_domain_digest {
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_domain_digest& x) {
  return f(caf::meta::type_name("ferry.get_domain_digest"), x.name);
}

/// `nodeinfo`.
struct get_node_info {
  bool unused = false; ///< CAF needs a serialisable member.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_node_info& x) {
  return f(caf::meta::type_name("ferry.get_node_info"), x.unused);
}

} // namespace ferry

namespace ferry {

/// Root to driver actor: describe yourself for `nodeinfo`.
struct get_driver_info {
  bool unused = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, get_driver_info& x) {
  return f(caf::meta::type_name("ferry.get_driver_info"), x.unused);
}

} // namespace ferry
