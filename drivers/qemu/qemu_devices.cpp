#include "drivers/qemu/qemu_devices.hpp"

#include <cstdio>

#include "util/error.hpp"

namespace ferry::qemu_devices {

namespace {

/// PCI slot 0 is the host bridge and 1 the chipset's ISA/IDE function on
/// `pc`; slot 2 stays free (where libvirt puts VGA). Ferry's devices take
/// slots from 3 on, in a fixed order: the SATA controller (pc only), then
/// virtio disks, then NICs, each in document order.
constexpr unsigned first_slot = 3;
constexpr unsigned last_slot = 0x1f;

bool is_q35(const domain_definition& def) {
  return def.machine.find("q35") != std::string::npos;
}

std::string root_bus(const domain_definition& def) {
  return is_q35(def) ? "pcie.0" : "pci.0";
}

/// QEMU's option syntax doubles a comma inside a value.
std::string value(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == ',')
      out += ',';
  }
  return out;
}

std::string hex(unsigned n) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%x", n);
  return buf;
}

/// The bus and address of the next PCI device.
struct pci_slots {
  std::string bus;
  unsigned next = first_slot;
  std::string take() {
    return ",bus=" + bus + ",addr=" + hex(next++);
  }
};

bool any_on_bus(const domain_definition& def, const char* bus) {
  for (auto& d : def.devices.disks)
    if (d.bus == bus)
      return true;
  return false;
}

/// `a` → 0, `b` → 1, …: the unit a `sda`/`hdc` name asks for.
unsigned unit_of(const disk_device& d) {
  return static_cast<unsigned>(d.target.back() - 'a');
}

std::string boot_index(uint32_t order) {
  return order > 0 ? ",bootindex=" + std::to_string(order) : "";
}

/// libvirt's cache modes as QEMU's three switches.
std::string cache_options(const std::string& mode) {
  bool direct = mode == "none" || mode == "directsync";
  bool no_flush = mode == "unsafe";
  return std::string{",cache.direct="} + (direct ? "on" : "off")
         + ",cache.no-flush=" + (no_flush ? "on" : "off");
}

bool write_cache(const std::string& mode) {
  return mode != "writethrough" && mode != "directsync";
}

/// The two block nodes of a disk with a medium: `file-vda` (the file or
/// block device) under `drive-vda` (the format).
std::vector<std::string> block_nodes(const disk_device& d) {
  auto ro = std::string{d.readonly ? ",read-only=on" : ",read-only=off"};
  auto cache = cache_options(d.cache);
  return {"-blockdev",
          std::string{"driver="} + (d.source_type == "block" ? "host_device"
                                                              : "file")
            + ",filename=" + value(d.source) + ",node-name=file-" + d.target
            + cache + ro + ",discard=unmap",
          "-blockdev",
          "driver=" + d.format + ",file=file-" + d.target + ",node-name=drive-"
            + d.target + cache + ro};
}

std::string disk_device_arg(const domain_definition& def, const disk_device& d,
                            pci_slots& slots) {
  std::string out;
  if (d.bus == "virtio")
    out = "virtio-blk-pci" + slots.take();
  else if (d.bus == "sata")
    out = std::string{d.device == "cdrom" ? "ide-cd" : "ide-hd"} + ",bus="
          + (is_q35(def) ? "ide." : "sata0.") + std::to_string(unit_of(d));
  else
    out = std::string{d.device == "cdrom" ? "ide-cd" : "ide-hd"} + ",bus=ide."
          + std::to_string(unit_of(d) / 2)
          + ",unit=" + std::to_string(unit_of(d) % 2);
  out += ",id=disk-" + d.target;
  if (!d.source.empty())
    out += ",drive=drive-" + d.target;
  if (d.device == "disk")
    out += std::string{",write-cache="} + (write_cache(d.cache) ? "on" : "off");
  if (!d.serial.empty())
    out += ",serial=" + value(d.serial);
  if (d.shareable)
    out += ",share-rw=on";
  return out + boot_index(d.boot_order);
}

void add_disks(const domain_definition& def, pci_slots& slots,
               std::vector<std::string>& out) {
  if (!is_q35(def) && any_on_bus(def, "sata"))
    out.insert(out.end(), {"-device", "ahci,id=sata0" + slots.take()});
  // Virtio disks take their slots before the NICs, SATA/IDE disks none.
  for (auto& d : def.devices.disks) {
    if (!d.source.empty()) {
      auto nodes = block_nodes(d);
      out.insert(out.end(), nodes.begin(), nodes.end());
    }
    out.insert(out.end(), {"-device", disk_device_arg(def, d, slots)});
  }
}

bool boots_from_network(const domain_definition& def, const net_device& n) {
  for (auto& dev : def.boot)
    if (dev == "network")
      return true;
  return n.boot_order > 0;
}

void add_nics(const domain_definition& def, pci_slots& slots,
              const std::vector<std::string>& taps,
              std::vector<std::string>& out) {
  for (size_t i = 0; i < def.devices.nets.size(); ++i) {
    auto& n = def.devices.nets[i];
    auto id = std::to_string(i);
    if (n.type == "user")
      out.insert(out.end(), {"-netdev", "user,id=net" + id});
    else
      out.insert(out.end(), {"-netdev", "tap,id=net" + id + ",ifname="
                                          + taps.at(i)
                                          + ",script=no,downscript=no"});
    // No option ROM unless the NIC boots: ROM files are an optional
    // package, and both ends of a migration must agree on them.
    out.insert(out.end(),
               {"-device",
                std::string{n.model == "virtio" ? "virtio-net-pci" : "e1000"}
                  + ",netdev=net" + id + ",id=nic" + id + ",mac=" + n.mac
                  + slots.take() + boot_index(n.boot_order)
                  + (boots_from_network(def, n) ? "" : ",romfile=")});
  }
}

void add_serials(const domain_definition& def, const std::string& log,
                 std::vector<std::string>& out) {
  bool first = true;
  for (auto& s : def.devices.serials) {
    auto id = "charserial" + std::to_string(s.port);
    auto chardev = s.type == "pty" ? "pty,id=" + id
                                   : "file,id=" + id + ",path=" + value(s.path)
                                       + ",append="
                                       + (s.append ? "on" : "off");
    if (first && !log.empty())
      chardev += ",logfile=" + value(log) + ",logappend=on";
    first = false;
    out.insert(out.end(), {"-chardev", chardev, "-device",
                           "isa-serial,chardev=" + id + ",id=serial"
                             + std::to_string(s.port)
                             + ",index=" + std::to_string(s.port)});
  }
}

void add_boot(const domain_definition& def, std::vector<std::string>& out) {
  if (!def.kernel.empty()) {
    out.insert(out.end(), {"-kernel", def.kernel});
    if (!def.initrd.empty())
      out.insert(out.end(), {"-initrd", def.initrd});
    if (!def.cmdline.empty())
      out.insert(out.end(), {"-append", def.cmdline});
    return;
  }
  std::string order;
  for (auto& dev : def.boot)
    order += dev == "hd" ? 'c' : dev == "cdrom" ? 'd' : 'n';
  if (!order.empty())
    out.insert(out.end(), {"-boot", "order=" + order});
}

caf::error bad(const std::string& why) {
  return make_error(errc::invalid_xml, why);
}

} // namespace

std::vector<std::string> machine_args(const domain_definition& def,
                                      bool kvm) {
  std::vector<std::string> out{
    "-machine",
    (def.machine.empty() ? std::string{"pc"} : def.machine) + ",accel="
      + (kvm ? "kvm" : "tcg") + (def.acpi ? "" : ",acpi=off")
      + (def.vmport_off ? ",vmport=off" : ""),
  };
  if (def.cpu.mode == "host-passthrough" || def.cpu.mode == "host-model") {
    out.insert(out.end(), {"-cpu", "host"});
  } else if (def.cpu.mode == "custom") {
    auto cpu = def.cpu.model;
    for (auto& [name, on] : def.cpu.features)
      cpu += std::string{on ? ",+" : ",-"} + name;
    out.insert(out.end(), {"-cpu", cpu});
  }
  auto smp = std::to_string(def.vcpus);
  if (def.cpu.sockets > 0)
    smp += ",sockets=" + std::to_string(def.cpu.sockets)
           + ",cores=" + std::to_string(def.cpu.cores)
           + ",threads=" + std::to_string(def.cpu.threads);
  out.insert(out.end(), {"-smp", smp});
  return out;
}

std::vector<std::string> device_args(const domain_definition& def,
                                     const std::string& serial_log,
                                     const std::vector<std::string>& taps) {
  std::vector<std::string> out;
  add_boot(def, out);
  pci_slots slots{root_bus(def)};
  add_disks(def, slots, out);
  add_nics(def, slots, taps, out);
  add_serials(def, serial_log, out);
  return out;
}

caf::error check(const domain_definition& def) {
  unsigned pci = first_slot;
  for (auto& d : def.devices.disks) {
    if (d.bus == "virtio")
      ++pci;
    if (d.bus == "virtio" || d.target.size() == 3) {
      auto unit = unit_of(d);
      if (d.bus == "ide" && is_q35(def))
        return bad("disk " + d.target + ": machine '" + def.machine
                   + "' has no IDE bus; use bus='sata'");
      if ((d.bus == "ide" && unit > 3) || (d.bus == "sata" && unit > 5))
        return bad("disk " + d.target + ": an " + d.bus + " bus has "
                   + (d.bus == "ide" ? "hda to hdd" : "sda to sdf"));
    } else {
      return bad("disk " + d.target + ": a " + d.bus
                 + " disk is named like sda or hda");
    }
  }
  pci += static_cast<unsigned>(def.devices.nets.size())
         + (any_on_bus(def, "sata") ? 1 : 0);
  if (pci > last_slot + 1)
    return bad("more disks and NICs than PCI slots");
  return caf::none;
}

std::vector<std::string> tap_names(const domain_definition& def,
                                   const std::string& salt) {
  std::vector<std::string> out;
  for (size_t i = 0; i < def.devices.nets.size(); ++i) {
    auto& n = def.devices.nets[i];
    if (n.type == "user")
      out.emplace_back();
    else if (!n.target_dev.empty())
      out.push_back(n.target_dev);
    else
      out.push_back("fy" + def.uuid.substr(0, 6) + salt.substr(0, 2)
                    + std::to_string(i));
  }
  return out;
}

} // namespace ferry::qemu_devices
