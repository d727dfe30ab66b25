#include "drivers/make_driver.hpp"

#include "util/error.hpp"

namespace ferry {

caf::expected<driver_ptr> make_driver(const std::string& name,
                                      driver_context ctx,
                                      const driver_configs& configs) {
  if (name == "test")
    return driver_ptr{new test_driver(std::move(ctx), configs.test)};
  if (name == "qemu")
    return driver_ptr{new qemu_driver(std::move(ctx), configs.qemu)};
  return make_error(errc::unsupported, "driver '" + name
                                         + "' is not available in this build");
}

} // namespace ferry
