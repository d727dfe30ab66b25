// libFuzzer target: domain XML (drivers/domain_definition.hpp). A definition
// that parses must survive `to_xml` and a second parse unchanged: agents
// persist definitions with `to_xml` and reload them at start.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "drivers/domain_definition.hpp"

using namespace ferry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string xml{reinterpret_cast<const char*>(data), size};
  auto def = parse_domain_xml(xml);
  if (!def)
    return 0;
  auto again = parse_domain_xml(to_xml(*def));
  if (!again)
    std::abort();
  if (again->type != def->type || again->name != def->name
      || again->uuid != def->uuid || again->memory_bytes != def->memory_bytes
      || again->vcpus != def->vcpus
      || again->working_set_bytes != def->working_set_bytes
      || again->dirty_rate_mibps != def->dirty_rate_mibps
      || again->machine != def->machine || again->kernel != def->kernel
      || again->ignored != def->ignored
      || again->devices.disks.size() != def->devices.disks.size()
      || again->devices.nets.size() != def->devices.nets.size()
      || again->devices.serials.size() != def->devices.serials.size())
    std::abort();
  // A generated MAC is kept: the guest's NIC never changes on a reload.
  for (size_t i = 0; i < def->devices.nets.size(); ++i)
    if (again->devices.nets[i].mac != def->devices.nets[i].mac)
      std::abort();
  (void) def->working_set_pages();
  return 0;
}
