#include "drivers/qemu/qemu_host.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/qemu/qemu_devices.hpp"
#include "util/crypto.hpp"
#include "util/error.hpp"

namespace ferry::qemu_host {

namespace {

caf::error host_error(const std::string& why) {
  return make_error(errc::hypervisor_error, why);
}

/// Empty if `/dev/kvm` can be opened for use, else why not.
std::string kvm_unusable() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return std::strerror(errno);
  ::close(fd);
  return {};
}

caf::error need_file(const std::string& path, const std::string& what,
                     bool writable) {
  if (::access(path.c_str(), R_OK | (writable ? W_OK : 0)) == 0)
    return caf::none;
  return host_error(what + " '" + path + "' is not "
                    + (writable ? "readable and writable" : "readable")
                    + " on this host: " + std::strerror(errno));
}

caf::error check_files(const domain_definition& def) {
  if (!def.kernel.empty())
    if (auto err = need_file(def.kernel, "kernel", false))
      return err;
  if (!def.initrd.empty())
    if (auto err = need_file(def.initrd, "initrd", false))
      return err;
  for (auto& d : def.devices.disks)
    if (!d.source.empty())
      if (auto err = need_file(d.source, "disk " + d.target, !d.readonly))
        return err;
  return caf::none;
}

/// An ioctl on `name` through a throw-away socket, as ip(8) does.
bool interface_ioctl(unsigned long request, ifreq& req) {
  int fd = ::socket(AF_LOCAL, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  bool ok = ::ioctl(fd, request, &req) == 0;
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

caf::error attach(const std::string& tap, const std::string& bridge) {
  ifreq req{};
  std::strncpy(req.ifr_name, bridge.c_str(), IFNAMSIZ - 1);
  req.ifr_ifindex = static_cast<int>(::if_nametoindex(tap.c_str()));
  if (req.ifr_ifindex == 0 || !interface_ioctl(SIOCBRADDIF, req))
    return host_error("cannot add tap " + tap + " to bridge " + bridge + ": "
                      + std::strerror(errno));
  ifreq flags{};
  std::strncpy(flags.ifr_name, tap.c_str(), IFNAMSIZ - 1);
  if (!interface_ioctl(SIOCGIFFLAGS, flags))
    return host_error("cannot read tap " + tap + ": " + std::strerror(errno));
  flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP);
  if (!interface_ioctl(SIOCSIFFLAGS, flags))
    return host_error("cannot bring tap " + tap + " up: "
                      + std::strerror(errno));
  return caf::none;
}

} // namespace

std::vector<std::string> free_tap_names(const domain_definition& def) {
  std::vector<std::string> taps;
  for (int attempt = 0; attempt < 64; ++attempt) {
    taps = qemu_devices::tap_names(def,
                                   crypto::to_hex(crypto::random_bytes(1)));
    bool in_use = false;
    for (size_t i = 0; i < taps.size(); ++i)
      in_use |= def.devices.nets[i].target_dev.empty() && !taps[i].empty()
                && ::if_nametoindex(taps[i].c_str()) != 0;
    if (!in_use)
      break;
  }
  return taps;
}

caf::expected<bool> check(const domain_definition& def) {
  bool kvm = def.type == "kvm";
  if (kvm) {
    auto why = kvm_unusable();
    if (!why.empty())
      return host_error("domain '" + def.name
                        + "' is type='kvm' but /dev/kvm is not usable on "
                          "this host ("
                        + why + "); define it with type='qemu' to run "
                                "under TCG");
  }
  if (!kvm && (def.cpu.mode == "host-passthrough"
               || def.cpu.mode == "host-model"))
    return host_error("<cpu mode='" + def.cpu.mode
                      + "'> needs KVM (type='kvm'); TCG offers mode "
                        "'custom' or the default CPU");
  if (auto err = check_files(def))
    return err;
  if (auto err = qemu_devices::check(def))
    return err;
  return kvm;
}

caf::error attach_bridges(const domain_definition& def,
                          const std::vector<std::string>& taps) {
  for (size_t i = 0; i < def.devices.nets.size(); ++i)
    if (def.devices.nets[i].type == "bridge")
      if (auto err = attach(taps.at(i), def.devices.nets[i].bridge))
        return err;
  return caf::none;
}

} // namespace ferry::qemu_host
