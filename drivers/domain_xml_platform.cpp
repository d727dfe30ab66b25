// <os>, <features> and <cpu> (docs/qemu.md, "Domain XML").

#include "drivers/domain_xml_parts.hpp"

#include <cctype>

#include "drivers/domain_xml_util.hpp"
#include "util/names.hpp"

namespace ferry::domain_xml {

namespace {

/// QEMU machine names: `pc`, `q35`, `pc-i440fx-7.2`, ….
bool valid_machine(const std::string& m) {
  return valid_name(m, 64);
}

caf::error parse_os_type(const pugi::xml_node& t, domain_definition& def) {
  if (auto err = check_attributes(t, {"arch", "machine"}))
    return err;
  std::string arch = t.attribute("arch").value();
  if (!arch.empty() && arch != "x86_64")
    return bad("<os><type arch='" + arch + "'>: ferry runs x86_64 guests");
  if (text_of(t) != "hvm")
    return bad("<os><type> must be 'hvm'");
  if (auto m = t.attribute("machine")) {
    def.machine = m.value();
    if (!valid_machine(def.machine))
      return bad("<os><type machine='" + def.machine + "'> is no machine name");
  }
  return caf::none;
}

caf::error parse_boot_dev(const pugi::xml_node& b, domain_definition& def) {
  if (auto err = check_attributes(b, {"dev"}))
    return err;
  std::string dev = b.attribute("dev").value();
  if (!one_of(dev, {"hd", "cdrom", "network"}))
    return bad("<boot dev='" + dev + "'> (hd, cdrom or network)");
  def.boot.push_back(dev);
  return caf::none;
}

caf::error parse_os_child(const pugi::xml_node& c, domain_definition& def) {
  std::string name = c.name();
  if (name == "type")
    return parse_os_type(c, def);
  if (name == "boot")
    return parse_boot_dev(c, def);
  if (name == "kernel" || name == "initrd" || name == "cmdline") {
    auto& field = name == "kernel"   ? def.kernel
                  : name == "initrd" ? def.initrd
                                     : def.cmdline;
    field = text_of(c);
    return check_attributes(c, {});
  }
  if (name == "loader" || name == "nvram")
    return bad("UEFI firmware (<os><" + name
               + ">) is not supported: ferry boots guests with SeaBIOS");
  if (one_of(name, {"bootmenu", "smbios", "bios"})) {
    def.ignored.push_back("<os><" + name + ">");
    return caf::none;
  }
  return bad("unknown element <" + name + "> in <os>");
}

caf::error parse_cpu_feature(const pugi::xml_node& f, cpu_spec& cpu) {
  if (auto err = check_attributes(f, {"policy", "name"}))
    return err;
  std::string policy = f.attribute("policy").value();
  std::string name = f.attribute("name").value();
  if (!valid_name(name, 32))
    return bad("<cpu><feature name='" + name + "'> is no feature name");
  if (policy == "require" || policy == "force" || policy.empty())
    cpu.features.emplace_back(name, true);
  else if (policy == "disable" || policy == "forbid")
    cpu.features.emplace_back(name, false);
  else if (policy != "optional")
    return bad("<cpu><feature policy='" + policy + "'>");
  return caf::none;
}

caf::error parse_topology(const pugi::xml_node& t, cpu_spec& cpu) {
  if (auto err = check_attributes(t, {"sockets", "dies", "cores", "threads"}))
    return err;
  uint32_t dies = 1;
  if (!parse_count(t.attribute("sockets").value(), 1, 64, cpu.sockets)
      || !parse_count(t.attribute("cores").value(), 1, 64, cpu.cores)
      || !parse_count(t.attribute("threads").value(), 1, 64, cpu.threads)
      || (t.attribute("dies")
          && !parse_count(t.attribute("dies").value(), 1, 1, dies)))
    return bad("<cpu><topology> needs sockets, cores and threads from 1 "
               "to 64 (and dies='1')");
  return caf::none;
}

caf::error parse_cpu_child(const pugi::xml_node& c, domain_definition& def) {
  std::string name = c.name();
  if (name == "model") {
    def.cpu.model = text_of(c);
    return check_attributes(c, {"fallback", "vendor_id"});
  }
  if (name == "feature")
    return parse_cpu_feature(c, def.cpu);
  if (name == "topology")
    return parse_topology(c, def.cpu);
  if (one_of(name, {"cache", "vendor"})) {
    def.ignored.push_back("<cpu><" + name + ">");
    return caf::none;
  }
  return bad("unsupported element <" + name + "> in <cpu>");
}

} // namespace

caf::error parse_os(const pugi::xml_node& os, domain_definition& def) {
  if (auto err = check_attributes(os, {}))
    return err;
  for (auto& c : elements(os))
    if (auto err = parse_os_child(c, def))
      return err;
  if (!def.cmdline.empty() && def.kernel.empty())
    return bad("<os><cmdline> needs an <os><kernel>");
  if (!def.initrd.empty() && def.kernel.empty())
    return bad("<os><initrd> needs an <os><kernel>");
  if (!def.kernel.empty() && !def.boot.empty())
    return bad("<os><kernel> and <os><boot> cannot be mixed");
  if (!def.kernel.empty())
    if (auto err = need_absolute(def.kernel, "<os><kernel>"))
      return err;
  if (!def.initrd.empty())
    return need_absolute(def.initrd, "<os><initrd>");
  return caf::none;
}

caf::error parse_features(const pugi::xml_node& node, domain_definition& def) {
  if (auto err = check_attributes(node, {}))
    return err;
  for (auto& c : elements(node)) {
    std::string name = c.name();
    caf::error err;
    if (name == "acpi" || name == "pae") { // PAE: always there on x86_64.
      def.acpi |= name == "acpi";
      err = check_attributes(c, {});
    } else if (name == "apic") {
      def.apic = true;
      err = check_attributes(c, {"eoi"});
    } else if (name == "vmport") {
      bool on = true;
      err = parse_switch(c.attribute("state").value(), "<vmport state>", on);
      def.vmport_off = !on;
    } else {
      err = bad("unsupported feature <" + name
                + "> (acpi, apic, pae and vmport)");
    }
    if (err)
      return err;
  }
  return caf::none;
}

caf::error parse_cpu(const pugi::xml_node& node, domain_definition& def) {
  if (auto err = check_attributes(node, {"mode", "match", "check",
                                         "migratable"}))
    return err;
  def.cpu.mode = node.attribute("mode").value();
  if (!def.cpu.mode.empty()
      && !one_of(def.cpu.mode, {"host-passthrough", "host-model", "custom"}))
    return bad("<cpu mode='" + def.cpu.mode
               + "'> (host-passthrough, host-model or custom)");
  for (auto& c : elements(node))
    if (auto err = parse_cpu_child(c, def))
      return err;
  if (def.cpu.mode.empty() && !def.cpu.model.empty())
    def.cpu.mode = "custom";
  if (def.cpu.mode == "custom" && def.cpu.model.empty())
    return bad("<cpu mode='custom'> needs a <model>");
  return caf::none;
}

} // namespace ferry::domain_xml
