#include "drivers/qemu/qemu_command_line.hpp"

#include "drivers/qemu/test_guest.hpp"

namespace ferry {

std::vector<std::string> qemu_command_line::argv() const {
  std::vector<std::string> out{
    binary,
    "-name", "guest=" + def.name + ",debug-threads=on",
    "-uuid", def.uuid,
    "-machine", "pc,accel=tcg",
    "-m", std::to_string(def.memory_bytes / (1024 * 1024)) + "M",
    "-smp", std::to_string(def.vcpus),
    "-nodefaults",
    "-no-user-config",
    "-display", "none",
    "-msg", "timestamp=on",
    "-qmp", "unix:" + qmp_path + ",server=on,wait=off",
  };
  if (!def.kernel.empty()) {
    out.insert(out.end(), {"-kernel", def.kernel});
    if (!def.cmdline.empty())
      out.insert(out.end(), {"-append", def.cmdline});
    if (def.working_set_bytes > 0 && test_guest::is_test_guest(def.kernel))
      out.insert(out.end(),
                 {"-device",
                  "loader,addr=" + std::to_string(test_guest::param_address)
                    + ",data=" + std::to_string(def.working_set_bytes)
                    + ",data-len=4"});
    if (def.working_set_bytes > 0 && def.dirty_rate_mibps > 0
        && test_guest::is_test_guest(def.kernel))
      out.insert(out.end(),
                 {"-device",
                  "loader,addr=" + std::to_string(test_guest::rate_address)
                    + ",data="
                    + std::to_string(
                      test_guest::pages_per_second(def.dirty_rate_mibps))
                    + ",data-len=4"});
    if (!console_path.empty() && test_guest::is_test_guest(def.kernel))
      out.insert(out.end(), {"-chardev",
                             "file,id=ferry-console,path=" + console_path,
                             "-device",
                             "isa-debugcon,iobase=0xe9,chardev=ferry-console"});
  }
  if (incoming)
    out.insert(out.end(), {"-S", "-incoming", "defer"});
  return out;
}

} // namespace ferry
