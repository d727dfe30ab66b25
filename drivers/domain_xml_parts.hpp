#pragma once

// The parts of a domain's XML that drivers/domain_definition.cpp hands
// to parsers of their own: <os>, <features>, <cpu> and <devices>' children.

#include <caf/error.hpp>
#include <pugixml.hpp>

#include "drivers/domain_definition.hpp"

namespace ferry::domain_xml {

/// <os>: direct kernel boot or firmware boot order, machine type.
caf::error parse_os(const pugi::xml_node& os, domain_definition& def);

/// <features>: acpi, apic, pae, vmport.
caf::error parse_features(const pugi::xml_node& node, domain_definition& def);

/// <cpu>: mode, model, features, topology.
caf::error parse_cpu(const pugi::xml_node& node, domain_definition& def);

/// One child of <devices>: a disk, interface, serial or console is added
/// to `def.devices`; a device with no effect on a ferry guest is recorded
/// in `def.ignored`; anything else is refused. May add generated values
/// (a NIC's MAC address) to `node`'s document, so the definition keeps them.
caf::error parse_device(pugi::xml_node node, domain_definition& def);

caf::error parse_disk(const pugi::xml_node& node, domain_definition& def);
caf::error parse_interface(pugi::xml_node node, domain_definition& def);
caf::error parse_serial(const pugi::xml_node& node, domain_definition& def);

/// A `<boot order='N'/>` of a device.
caf::error parse_boot_order(const pugi::xml_node& boot, uint32_t& out);

/// An error unless `path` is absolute.
caf::error need_absolute(const std::string& path, const char* what);

/// Checks across devices once all are read: unique boot orders, serial
/// ports and MACs, per-device boot orders not mixed with <os><boot>.
caf::error check_devices(const domain_definition& def);

} // namespace ferry::domain_xml
