// <devices> (docs/qemu.md, "Domain XML"): NICs, serial consoles, and the
// dispatch to <disk>. Devices with no effect on a ferry guest are accepted
// and reported as ignored; devices that would change the guest's hardware
// and that ferry cannot give it are refused, so a migrated guest never
// finds hardware missing.

#include "drivers/domain_xml_parts.hpp"

#include <cctype>
#include <set>

#include "drivers/domain_xml_util.hpp"
#include "util/crypto.hpp"
#include "util/names.hpp"

namespace ferry::domain_xml {

namespace {

/// Devices that do not change what a ferry guest runs on: host-side
/// controllers and tooling, displays and input ferry never attaches.
constexpr std::initializer_list<const char*> ignored_devices = {
  "emulator", "controller", "memballoon", "input",   "graphics", "video",
  "channel",  "sound",      "audio",      "redirdev", "rng",     "panic",
};

/// Lowercases `mac` if it is a unicast `xx:xx:xx:xx:xx:xx`.
bool valid_mac(std::string& mac) {
  if (mac.size() != 17)
    return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    auto c = static_cast<unsigned char>(mac[i]);
    if (i % 3 == 2 ? c != ':' : !std::isxdigit(c))
      return false;
    mac[i] = static_cast<char>(std::tolower(c));
  }
  return (std::stoi(mac.substr(0, 2), nullptr, 16) & 1) == 0;
}

/// QEMU's own prefix, as libvirt generates them.
std::string random_mac() {
  auto tail = crypto::to_hex(crypto::random_bytes(3));
  return "52:54:00:" + tail.substr(0, 2) + ":" + tail.substr(2, 2) + ":"
         + tail.substr(4, 2);
}

caf::error parse_nic_source(const pugi::xml_node& src, net_device& n) {
  if (n.type != "bridge")
    return check_attributes(src, {});
  if (auto err = check_attributes(src, {"bridge"}))
    return err;
  n.bridge = src.attribute("bridge").value();
  return caf::none;
}

caf::error parse_nic_child(pugi::xml_node c, net_device& n,
                           std::vector<std::string>& ignored) {
  std::string name = c.name();
  if (name == "mac") {
    n.mac = c.attribute("address").value();
    return valid_mac(n.mac) ? check_attributes(c, {"address"})
                            : bad("<mac address> must be a unicast "
                                  "xx:xx:xx:xx:xx:xx, got '" + n.mac + "'");
  }
  if (name == "source")
    return parse_nic_source(c, n);
  if (name == "model") {
    n.model = c.attribute("type").value();
    if (n.model != "virtio" && n.model != "e1000")
      return bad("interface model '" + n.model + "' (virtio or e1000)");
    return check_attributes(c, {"type"});
  }
  if (name == "target") {
    n.target_dev = c.attribute("dev").value();
    return check_attributes(c, {"dev", "managed"});
  }
  if (name == "boot")
    return parse_boot_order(c, n.boot_order);
  if (one_of(name, {"alias", "address", "driver", "rom", "link"})) {
    ignored.push_back("<interface><" + name + ">");
    return caf::none;
  }
  return bad("unsupported element <" + name + "> in <interface>");
}

/// A Linux interface name: at most 15 characters.
bool valid_ifname(const std::string& name) {
  return valid_name(name, 15);
}

caf::error check_nic(const net_device& n) {
  if (n.type == "bridge" && !valid_ifname(n.bridge))
    return bad("<interface type='bridge'> needs <source bridge=NAME>");
  if (n.type == "ethernet" && n.target_dev.empty())
    return bad("<interface type='ethernet'> needs <target dev=TAP>");
  if (!n.target_dev.empty() && !valid_ifname(n.target_dev))
    return bad("<interface><target dev='" + n.target_dev
               + "'> is not an interface name");
  return caf::none;
}

} // namespace

caf::error need_absolute(const std::string& path, const char* what) {
  if (path.empty() || path.front() != '/')
    return bad(std::string{what} + " must be an absolute path, got '" + path
               + "'");
  return caf::none;
}

caf::error parse_boot_order(const pugi::xml_node& boot, uint32_t& out) {
  if (auto err = check_attributes(boot, {"order", "loadparm"}))
    return err;
  if (!parse_count(boot.attribute("order").value(), 1, 1000, out))
    return bad("<boot order> must be a whole number from 1 to 1000");
  return caf::none;
}

caf::error parse_interface(pugi::xml_node node, domain_definition& def) {
  if (auto err = check_attributes(node, {"type", "trustGuestRxFilters"}))
    return err;
  net_device n;
  n.type = node.attribute("type").value();
  if (n.type == "network")
    return bad("<interface type='network'> needs libvirt's virtual networks; "
               "use type='bridge' with the network's bridge");
  if (!one_of(n.type, {"user", "bridge", "ethernet"}))
    return bad("interface type '" + n.type + "' (user, bridge or ethernet)");
  for (auto& c : elements(node))
    if (auto err = parse_nic_child(c, n, def.ignored))
      return err;
  if (auto err = check_nic(n))
    return err;
  if (n.mac.empty()) { // Kept in the document: the guest's MAC never changes.
    n.mac = random_mac();
    node.prepend_child("mac").append_attribute("address") = n.mac.c_str();
  }
  def.devices.nets.push_back(std::move(n));
  return caf::none;
}

caf::error parse_device(pugi::xml_node node, domain_definition& def) {
  std::string name = node.name();
  if (name == "disk")
    return parse_disk(node, def);
  if (name == "interface")
    return parse_interface(node, def);
  if (name == "serial" || name == "console")
    return parse_serial(node, def);
  if (one_of(name, ignored_devices)) {
    def.ignored.push_back("<devices><" + name + ">");
    return caf::none;
  }
  return bad("unsupported device <" + name
             + "> (ferry gives guests disks, interfaces and serial "
               "consoles; a guest must not lose hardware when it moves)");
}

caf::error check_devices(const domain_definition& def) {
  std::set<std::string> macs;
  for (auto& n : def.devices.nets)
    if (!macs.insert(n.mac).second)
      return bad("two interfaces with MAC " + n.mac);
  std::set<uint32_t> orders;
  auto check_order = [&](uint32_t order) -> caf::error {
    if (order == 0)
      return caf::none;
    if (!def.boot.empty())
      return bad("per-device <boot order> and <os><boot dev> cannot be mixed");
    if (!orders.insert(order).second)
      return bad("two devices with <boot order='" + std::to_string(order)
                 + "'>");
    return caf::none;
  };
  for (auto& d : def.devices.disks)
    if (auto err = check_order(d.boot_order))
      return err;
  for (auto& n : def.devices.nets)
    if (auto err = check_order(n.boot_order))
      return err;
  return caf::none;
}

} // namespace ferry::domain_xml
