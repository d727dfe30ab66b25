#pragma once

#include <string>

#include <caf/expected.hpp>

#include "drivers/driver.hpp"
#include "drivers/qemu/qemu_driver.hpp"
#include "drivers/test/test_driver.hpp"

namespace ferry {

/// What each driver is configured with. The agent fills it from its own
/// settings (actors/driver_actor.cpp): a driver sees only its part.
struct driver_configs {
  test_driver_config test;
  qemu_driver_config qemu;
};

/// Creates the driver called `name` (`test`, `qemu`).
caf::expected<driver_ptr> make_driver(const std::string& name,
                                      driver_context ctx,
                                      const driver_configs& configs);

} // namespace ferry
