// <serial> and <console> (docs/qemu.md, "Domain XML"). A console whose
// target is a serial port is, as in libvirt, another name for that port:
// it adds a port only if no <serial> defined it (consoles are read after
// every <serial>, drivers/domain_definition.cpp).

#include "drivers/domain_xml_parts.hpp"

#include "drivers/domain_xml_util.hpp"

namespace ferry::domain_xml {

namespace {

/// ttyS0 … ttyS3: the ISA serial ports a PC has.
constexpr uint32_t max_serial_port = 3;

caf::error parse_serial_source(const pugi::xml_node& src, serial_device& s) {
  if (s.type == "pty") // The pty a running domain had: runtime, not config.
    return check_attributes(src, {"path"});
  if (auto err = check_attributes(src, {"path", "append"}))
    return err;
  s.path = src.attribute("path").value();
  if (auto append = src.attribute("append"))
    if (auto err = parse_switch(append.value(), "<source append>", s.append))
      return err;
  return need_absolute(s.path, "<serial><source path>");
}

/// <target type=… port=…>.
caf::error parse_serial_target(const pugi::xml_node& t, serial_device& s,
                               bool& has_port) {
  if (auto err = check_attributes(t, {"type", "port"}))
    return err;
  std::string type = t.attribute("type").value();
  if (!type.empty() && type != "serial" && type != "isa-serial")
    return bad("serial target type '" + type
               + "' (ferry gives guests ISA serial ports)");
  for (auto& m : elements(t))
    if (std::string{m.name()} != "model"
        || std::string{m.attribute("name").value()} != "isa-serial")
      return bad("<serial><target> takes only <model name='isa-serial'/>");
  if (auto port = t.attribute("port")) {
    if (!parse_count(port.value(), 0, max_serial_port, s.port))
      return bad("serial port must be 0 to 3");
    has_port = true;
  }
  return caf::none;
}

caf::error parse_serial_children(const pugi::xml_node& node, serial_device& s,
                                 bool& has_port,
                                 std::vector<std::string>& ignored) {
  for (auto& c : elements(node)) {
    std::string name = c.name();
    caf::error err;
    if (name == "source")
      err = parse_serial_source(c, s);
    else if (name == "target")
      err = parse_serial_target(c, s, has_port);
    else if (one_of(name, {"alias", "address", "log"}))
      ignored.push_back("<" + std::string{node.name()} + "><" + name + ">");
    else
      err = bad("unsupported element <" + name + "> in <" + node.name()
                + ">");
    if (err)
      return err;
  }
  return caf::none;
}

bool port_taken(const domain_definition& def, uint32_t port) {
  for (auto& s : def.devices.serials)
    if (s.port == port)
      return true;
  return false;
}

} // namespace

caf::error parse_serial(const pugi::xml_node& node, domain_definition& def) {
  bool console = std::string{node.name()} == "console";
  if (auto err = check_attributes(node, {"type", "tty"}))
    return err;
  serial_device s;
  s.type = node.attribute("type").value();
  if (s.type != "pty" && s.type != "file")
    return bad("<" + std::string{node.name()} + " type='" + s.type
               + "'>: only 'pty' or 'file'");
  if (s.type == "file" && s.path.empty() && !node.child("source"))
    return bad("<serial type='file'> needs <source path=…>");
  bool has_port = false;
  if (auto err = parse_serial_children(node, s, has_port, def.ignored))
    return err;
  if (console && port_taken(def, has_port ? s.port : 0))
    return caf::none; // Another name for a <serial> already defined.
  if (!has_port)
    while (port_taken(def, s.port) && s.port <= max_serial_port)
      ++s.port;
  if (s.port > max_serial_port)
    return bad("more than four serial ports");
  if (port_taken(def, s.port))
    return bad("two serial ports with port " + std::to_string(s.port));
  def.devices.serials.push_back(std::move(s));
  return caf::none;
}

} // namespace ferry::domain_xml
