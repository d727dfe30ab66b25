#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace ferry {

/// Arms a fault point in the agent (admin role; the agent must run with
/// --fault-injection). `action` is faults::action; `count` 0 disarms.
struct arm_fault {
  std::string point;
  uint8_t action = 0;
  uint32_t count = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, arm_fault& x) {
  return f(caf::meta::type_name("ferry.arm_fault"), x.point, x.action,
           x.count);
}

} // namespace ferry
