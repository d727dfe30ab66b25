#include "drivers/qemu/qemu_command_line.hpp"

#include "drivers/qemu/qemu_devices.hpp"
#include "drivers/qemu/test_guest.hpp"

namespace ferry {

std::vector<std::string> qemu_command_line::argv() const {
  std::vector<std::string> out{
    binary,
    "-name", "guest=" + def.name + ",debug-threads=on",
    "-uuid", def.uuid,
    "-m", std::to_string(def.memory_bytes / (1024 * 1024)) + "M",
    "-nodefaults",
    "-no-user-config",
    "-display", "none",
    "-msg", "timestamp=on",
    "-qmp", "unix:" + qmp_path + ",server=on,wait=off",
    // seccomp, as libvirt runs QEMU: no obsolete system calls, no setuid,
    // no fork/exec (ferry's taps need no scripts), no scheduler or
    // affinity changes. A guest that breaks out of its device emulation
    // finds the process confined.
    "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
                "resourcecontrol=deny",
  };
  auto machine = qemu_devices::machine_args(def, kvm);
  out.insert(out.end(), machine.begin(), machine.end());
  auto devices = qemu_devices::device_args(def, serial_log, taps);
  out.insert(out.end(), devices.begin(), devices.end());
  if (!def.kernel.empty() && test_guest::is_test_guest(def.kernel))
    add_test_guest(out);
  if (incoming)
    out.insert(out.end(), {"-S", "-incoming", "defer"});
  return out;
}

/// ferry's test guest reads its working set and pace from two words the
/// loader device writes, and reports on the debug console (port 0xE9).
void qemu_command_line::add_test_guest(std::vector<std::string>& out) const {
  if (def.working_set_bytes > 0)
    out.insert(out.end(),
               {"-device",
                "loader,addr=" + std::to_string(test_guest::param_address)
                  + ",data=" + std::to_string(def.working_set_bytes)
                  + ",data-len=4"});
  if (def.working_set_bytes > 0 && def.dirty_rate_mibps > 0)
    out.insert(out.end(),
               {"-device",
                "loader,addr=" + std::to_string(test_guest::rate_address)
                  + ",data="
                  + std::to_string(
                    test_guest::pages_per_second(def.dirty_rate_mibps))
                  + ",data-len=4"});
  if (!console_path.empty())
    out.insert(out.end(), {"-chardev",
                           "file,id=ferry-console,path=" + console_path,
                           "-device",
                           "isa-debugcon,iobase=0xe9,chardev=ferry-console"});
}

} // namespace ferry
