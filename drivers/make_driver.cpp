#include "config/agent_settings.hpp"
#include "drivers/driver.hpp"
#include "drivers/qemu/qemu_driver.hpp"
#include "drivers/test/test_driver.hpp"
#include "messages/error.hpp"

namespace ferry {

caf::expected<driver_ptr> make_driver(const std::string& name,
                                      driver_context ctx,
                                      const agent_settings& settings) {
  if (name == "test") {
    test_driver_config cfg;
    cfg.binary = settings.testhv.binary;
    cfg.listen = settings.testhv.listen;
    if (cfg.listen.port == 0 && settings.listen.port < 65535)
      cfg.listen.port = static_cast<uint16_t>(settings.listen.port + 1);
    cfg.secret_file = settings.testhv.secret_file;
    if (!settings.insecure_tcp)
      cfg.tls = settings.tls;
    cfg.log_level = settings.log_level;
    return driver_ptr{new test_driver(std::move(ctx), std::move(cfg))};
  }
  if (name == "qemu") {
    qemu_driver_config cfg;
    cfg.binary = settings.qemu_binary;
    if (!settings.insecure_tcp)
      cfg.tls = settings.tls;
    return driver_ptr{new qemu_driver(std::move(ctx), std::move(cfg))};
  }
  return make_error(errc::unsupported, "driver '" + name
                                         + "' is not available in this build");
}

} // namespace ferry
