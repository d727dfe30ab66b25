#include "drivers/domain_definition.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iomanip>
#include <limits>
#include <set>
#include <sstream>

#include <pugixml.hpp>

#include "drivers/domain_xml_parts.hpp"
#include "drivers/domain_xml_util.hpp"
#include "util/crypto.hpp"
#include "util/names.hpp"

namespace ferry {

using namespace domain_xml;

namespace {

/// Elements with no effect on a ferry guest: host-side tuning, lifecycle
/// actions and metadata. Accepted and reported (`domain_definition::ignored`).
constexpr std::initializer_list<const char*> ignored_elements = {
  "on_poweroff", "on_reboot", "on_crash", "clock",     "pm",
  "seclabel",    "resource",  "metadata", "cputune",   "memtune",
  "blkiotune",   "numatune",  "memoryBacking", "iothreads", "genid",
  "sysinfo",     "keywrap",   "perf",
};

bool valid_uuid(std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c == '-')
      continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return false;
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 32)
    return false;
  text = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4)
         + "-" + hex.substr(16, 4) + "-" + hex.substr(20, 12);
  return true;
}

/// Converts a libvirt memory size with `unit` to bytes.
caf::expected<uint64_t> to_bytes(const std::string& value,
                                 const std::string& unit_attr,
                                 const char* what) {
  double number = 0;
  if (!parse_number(value, number))
    return bad(std::string{what} + " must be a non-negative number, got '"
               + value + "'");
  auto unit = unit_attr.empty() ? std::string{"KiB"} : unit_attr;
  double scale = 0;
  if (unit == "b" || unit == "bytes")
    scale = 1;
  else if (unit == "KB")
    scale = 1e3;
  else if (unit == "k" || unit == "KiB")
    scale = 1024.0;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "M" || unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "GB")
    scale = 1e9;
  else if (unit == "G" || unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else
    return bad("unknown memory unit '" + unit + "'");
  auto bytes = number * scale;
  if (bytes > static_cast<double>(max_memory_bytes))
    return bad(std::string{what} + " exceeds 64 GiB");
  return static_cast<uint64_t>(bytes);
}

caf::error parse_workload(const pugi::xml_node& wl, domain_definition& def) {
  if (auto err = check_attributes(wl, {"dirty-rate", "working-set"}))
    return err;
  if (auto attr = wl.attribute("dirty-rate")) {
    if (!parse_number(attr.value(), def.dirty_rate_mibps)
        || def.dirty_rate_mibps > 1e6)
      return bad("<workload dirty-rate> must be MiB/s from 0 to 1000000");
  }
  if (auto attr = wl.attribute("working-set")) {
    double mib = 0;
    if (!parse_number(attr.value(), mib))
      return bad("<workload working-set> must be a size in MiB");
    // Bound before converting: a double beyond uint64_t's range does not
    // convert (undefined behaviour), and no guest is larger anyway.
    if (mib * 1024 * 1024 > static_cast<double>(max_memory_bytes))
      return bad("<workload working-set> exceeds 64 GiB");
    def.working_set_bytes = static_cast<uint64_t>(mib * 1024 * 1024);
  }
  return caf::none;
}

} // namespace

uint64_t domain_definition::working_set_pages() const {
  auto pages = memory_bytes / guest_page_size;
  if (working_set_bytes == 0)
    return pages;
  auto ws = (working_set_bytes + guest_page_size - 1) / guest_page_size;
  return ws < pages ? ws : pages;
}

bool valid_domain_name(const std::string& name) {
  return valid_name(name);
}

namespace {

/// <name>, <uuid>, <memory>/<currentMemory> and <vcpu>: the scalars.
caf::error parse_scalar(const pugi::xml_node& child, const std::string& name,
                        domain_definition& def, bool& have_memory) {
  if (name == "name") {
    if (auto err = check_attributes(child, {}))
      return err;
    def.name = text_of(child);
  } else if (name == "uuid") {
    if (auto err = check_attributes(child, {}))
      return err;
    def.uuid = text_of(child);
    if (!valid_uuid(def.uuid))
      return bad("<uuid> is not a UUID");
  } else if (name == "memory" || name == "currentMemory") {
    if (auto err = check_attributes(child, {"unit"}))
      return err;
    auto bytes = to_bytes(text_of(child), child.attribute("unit").value(),
                          "<memory>");
    if (!bytes)
      return bytes.error();
    if (name == "memory") {
      def.memory_bytes = *bytes;
      have_memory = true;
    }
  } else { // vcpu
    if (auto err = check_attributes(child, {"placement", "cpuset",
                                            "current"}))
      return err;
    if (!parse_count(text_of(child), 1, 64, def.vcpus))
      return bad("<vcpu> must be a whole number from 1 to 64");
    if (child.attribute("current") || child.attribute("cpuset"))
      def.ignored.push_back("<vcpu current/cpuset>");
  }
  return caf::none;
}

/// <devices>: consoles after every <serial>, since a console may stand
/// for a serial port defined after it.
caf::error parse_devices(const pugi::xml_node& devices,
                         domain_definition& def) {
  if (auto err = check_attributes(devices, {}))
    return err;
  for (bool consoles : {false, true})
    for (auto& c : elements(devices))
      if ((std::string{c.name()} == "console") == consoles)
        if (auto err = parse_device(c, def))
          return err;
  return caf::none;
}

/// One child element of <domain>.
caf::error parse_child(const pugi::xml_node& child, domain_definition& def,
                       bool& have_memory) {
  std::string name = child.name();
  if (name == "name" || name == "uuid" || name == "memory"
      || name == "currentMemory" || name == "vcpu")
    return parse_scalar(child, name, def, have_memory);
  if (name == "os")
    return parse_os(child, def);
  if (name == "features")
    return parse_features(child, def);
  if (name == "cpu")
    return parse_cpu(child, def);
  if (name == "devices")
    return parse_devices(child, def);
  if (name == "workload")
    return parse_workload(child, def);
  if (name == "description" || name == "title")
    return caf::none;
  if (one_of(name, ignored_elements)) {
    def.ignored.push_back("<" + name + ">");
    return caf::none;
  }
  return bad("unsupported element <" + name
             + "> (docs/qemu.md lists what ferry accepts)");
}

/// What every definition needs, once all elements are read; fills in the
/// defaults (page-rounded memory, a fresh UUID).
caf::error complete(domain_definition& def, bool have_memory) {
  if (def.name.empty())
    return bad("missing <name>");
  if (!valid_domain_name(def.name))
    return bad("name '" + def.name
               + "' must be 1-64 letters, digits, '-', '_' or '.'");
  if (!have_memory)
    return bad("missing <memory>");
  if (def.memory_bytes < guest_page_size)
    return bad("<memory> must be at least 4 KiB");
  def.memory_bytes = (def.memory_bytes + guest_page_size - 1)
                     / guest_page_size * guest_page_size;
  if (def.working_set_bytes > def.memory_bytes)
    return bad("<workload working-set> is larger than <memory>");
  // Each ignored element once, in the order first seen.
  std::vector<std::string> once;
  for (auto& e : def.ignored)
    if (std::find(once.begin(), once.end(), e) == once.end())
      once.push_back(e);
  def.ignored = std::move(once);
  auto topology = def.cpu.sockets * def.cpu.cores * def.cpu.threads;
  if (topology != 0 && topology != def.vcpus)
    return bad("<cpu><topology> must multiply to <vcpu>");
  return check_devices(def);
}

/// Keeps the document, with a generated UUID written into it.
void keep_document(pugi::xml_document& doc, domain_definition& def) {
  auto root = doc.document_element();
  if (def.uuid.empty()) {
    def.uuid = crypto::random_uuid();
    root.insert_child_after("uuid", root.child("name")).text() =
      def.uuid.c_str();
  }
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
  def.xml = out.str();
}

} // namespace

caf::expected<domain_definition> parse_domain_xml(const std::string& xml) {
  if (xml.size() > 1024 * 1024)
    return bad("document larger than 1 MiB");
  pugi::xml_document doc;
  auto res = doc.load_buffer(xml.data(), xml.size(),
                             pugi::parse_default & ~pugi::parse_pi);
  if (!res)
    return bad(std::string{res.description()} + " at offset "
               + std::to_string(res.offset));
  auto root = doc.document_element();
  if (!root || std::string{root.name()} != "domain")
    return bad("root element must be <domain>");
  if (auto err = check_attributes(root, {"type", "id"}))
    return err;
  domain_definition def;
  def.type = root.attribute("type").value();
  if (def.type.empty())
    return bad("<domain> needs a type attribute ('test', 'qemu' or 'kvm')");
  if (!one_of(def.type, {"test", "qemu", "kvm"}))
    return bad("unknown domain type '" + def.type + "' (test, qemu or kvm)");
  bool have_memory = false;
  std::set<std::string> seen;
  for (auto child : root.children()) {
    if (child.type() != pugi::node_element)
      continue;
    if (!one_of(child.name(), ignored_elements)
        && !seen.insert(child.name()).second)
      return bad("element <" + std::string{child.name()} + "> appears twice");
    if (auto err = parse_child(child, def, have_memory))
      return err;
  }
  if (auto err = complete(def, have_memory))
    return err;
  keep_document(doc, def);
  return def;
}

void set_machine(domain_definition& def, const std::string& machine) {
  def.machine = machine;
  if (def.xml.empty())
    return; // to_xml builds the document from the fields
  pugi::xml_document doc;
  if (!doc.load_buffer(def.xml.data(), def.xml.size()))
    return;
  auto root = doc.document_element();
  auto os = root.child("os");
  if (!os)
    os = root.insert_child_after("os", root.child("vcpu") ? root.child("vcpu")
                                                          : root.child("memory"));
  auto type = os.child("type");
  if (!type) {
    type = os.prepend_child("type");
    type.text() = "hvm";
  }
  if (!type.attribute("arch"))
    type.append_attribute("arch") = "x86_64";
  if (!type.attribute("machine"))
    type.append_attribute("machine");
  type.attribute("machine") = machine.c_str();
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
  def.xml = out.str();
}

std::string to_xml(const domain_definition& def) {
  if (!def.xml.empty()) {
    pugi::xml_document doc;
    if (doc.load_buffer(def.xml.data(), def.xml.size())) {
      doc.document_element().child("name").text() = def.name.c_str();
      std::ostringstream out;
      doc.save(out, "  ", pugi::format_default | pugi::format_no_declaration);
      return out.str();
    }
  }
  pugi::xml_document doc;
  auto root = doc.append_child("domain");
  root.append_attribute("type") = def.type.c_str();
  root.append_child("name").text() = def.name.c_str();
  root.append_child("uuid").text() = def.uuid.c_str();
  auto mem = root.append_child("memory");
  mem.append_attribute("unit") = "KiB";
  mem.text() = static_cast<unsigned long long>(def.memory_bytes / 1024);
  root.append_child("vcpu").text() = def.vcpus;
  if (!def.kernel.empty() || !def.cmdline.empty() || !def.machine.empty()) {
    auto os = root.append_child("os");
    if (!def.machine.empty()) {
      auto type = os.append_child("type");
      type.append_attribute("arch") = "x86_64";
      type.append_attribute("machine") = def.machine.c_str();
      type.text() = "hvm";
    }
    if (!def.kernel.empty())
      os.append_child("kernel").text() = def.kernel.c_str();
    if (!def.initrd.empty())
      os.append_child("initrd").text() = def.initrd.c_str();
    if (!def.cmdline.empty())
      os.append_child("cmdline").text() = def.cmdline.c_str();
  }
  if (def.dirty_rate_mibps > 0 || def.working_set_bytes > 0) {
    // Every digit a double needs: six (the stream default) lose bytes of the
    // working set, and a working set equal to <memory> then reloads larger.
    constexpr auto digits = std::numeric_limits<double>::max_digits10;
    auto wl = root.append_child("workload");
    std::ostringstream rate;
    rate << std::setprecision(digits) << def.dirty_rate_mibps;
    wl.append_attribute("dirty-rate") = rate.str().c_str();
    if (def.working_set_bytes > 0) {
      std::ostringstream ws;
      ws << std::setprecision(digits)
         << static_cast<double>(def.working_set_bytes) / (1024.0 * 1024.0);
      wl.append_attribute("working-set") = ws.str().c_str();
    }
  }
  std::ostringstream os;
  doc.save(os, "  ", pugi::format_indent | pugi::format_no_declaration);
  return os.str();
}

} // namespace ferry
