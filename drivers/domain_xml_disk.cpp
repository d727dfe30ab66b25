// <disk> (docs/qemu.md, "Domain XML").

#include "drivers/domain_xml_parts.hpp"

#include "drivers/domain_xml_util.hpp"

namespace ferry::domain_xml {

namespace {

caf::error parse_disk_driver(const pugi::xml_node& drv, disk_device& d) {
  if (auto err = check_attributes(drv, {"name", "type", "cache", "io",
                                        "discard", "detect_zeroes"}))
    return err;
  std::string name = drv.attribute("name").value();
  if (!name.empty() && name != "qemu")
    return bad("<disk><driver name='" + name + "'>: only 'qemu'");
  if (auto type = drv.attribute("type"))
    d.format = type.value();
  if (d.format != "raw" && d.format != "qcow2")
    return bad("disk format '" + d.format + "' (raw or qcow2)");
  d.cache = drv.attribute("cache").value();
  if (!d.cache.empty() && d.cache != "default"
      && !one_of(d.cache, {"none", "writeback", "writethrough", "directsync",
                           "unsafe"}))
    return bad("disk cache '" + d.cache + "' (none, writeback, writethrough, "
               "directsync or unsafe)");
  if (d.cache == "default")
    d.cache.clear();
  return caf::none;
}

caf::error parse_disk_source(const pugi::xml_node& src, disk_device& d) {
  bool block = d.source_type == "block";
  if (auto err = check_attributes(src, {block ? "dev" : "file", "index"}))
    return err;
  d.source = src.attribute(block ? "dev" : "file").value();
  return need_absolute(d.source, "<disk><source>");
}

caf::error parse_disk_target(const pugi::xml_node& t, disk_device& d) {
  if (auto err = check_attributes(t, {"dev", "bus", "tray", "removable"}))
    return err;
  d.target = t.attribute("dev").value();
  d.bus = t.attribute("bus").value();
  if (d.bus.empty()) // libvirt's rule: the name's prefix says the bus.
    d.bus = d.target.rfind("vd", 0) == 0   ? "virtio"
            : d.target.rfind("sd", 0) == 0 ? "sata"
                                           : "ide";
  if (!one_of(d.bus, {"virtio", "sata", "ide"}))
    return bad("disk bus '" + d.bus + "' (virtio, sata or ide)");
  if (d.target.size() < 3 || d.target.size() > 8
      || !one_of(d.target.substr(0, 2), {"vd", "sd", "hd"}))
    return bad("disk target dev '" + d.target + "' (vda, sda, hda, …)");
  return caf::none;
}

caf::error parse_disk_child(const pugi::xml_node& c, disk_device& d,
                            std::vector<std::string>& ignored) {
  std::string name = c.name();
  if (name == "driver")
    return parse_disk_driver(c, d);
  if (name == "source")
    return parse_disk_source(c, d);
  if (name == "target")
    return parse_disk_target(c, d);
  if (name == "readonly" || name == "shareable") {
    (name == "readonly" ? d.readonly : d.shareable) = true;
    return caf::none;
  }
  if (name == "serial") {
    d.serial = text_of(c);
    if (d.serial.size() > 20 || d.serial.find(',') != std::string::npos)
      return bad("<disk><serial> must be at most 20 characters without ','");
    return caf::none;
  }
  if (name == "boot")
    return parse_boot_order(c, d.boot_order);
  if (one_of(name, {"alias", "address", "backingStore", "iotune"})) {
    ignored.push_back("<disk><" + name + ">");
    return caf::none;
  }
  return bad("unsupported element <" + name + "> in <disk>");
}

} // namespace

caf::error parse_disk(const pugi::xml_node& node, domain_definition& def) {
  if (auto err = check_attributes(node, {"type", "device", "snapshot"}))
    return err;
  disk_device d;
  d.source_type = node.attribute("type").value();
  if (d.source_type != "file" && d.source_type != "block")
    return bad("<disk type='" + d.source_type + "'>: only 'file' or 'block'");
  if (auto dev = node.attribute("device"))
    d.device = dev.value();
  if (d.device != "disk" && d.device != "cdrom")
    return bad("<disk device='" + d.device + "'>: only 'disk' or 'cdrom'");
  for (auto& c : elements(node))
    if (auto err = parse_disk_child(c, d, def.ignored))
      return err;
  if (d.target.empty())
    return bad("<disk> needs <target dev=…>");
  if (d.source.empty() && d.device == "disk")
    return bad("disk " + d.target + " needs <source>");
  if (d.device == "cdrom") {
    if (d.bus == "virtio")
      return bad("CD-ROM " + d.target + " needs bus sata or ide");
    d.readonly = true;
  }
  for (auto& other : def.devices.disks)
    if (other.target == d.target)
      return bad("two disks with target dev '" + d.target + "'");
  def.devices.disks.push_back(std::move(d));
  return caf::none;
}

} // namespace ferry::domain_xml
