#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "drivers/domain_devices.hpp"

namespace ferry {

/// Guest page size used for dirty tracking and the test stream format.
constexpr uint64_t guest_page_size = 4096;

/// A domain as defined by the subset of libvirt's domain XML ferry accepts
/// (docs/architecture.md, "Domain definitions"). Plain data; drivers validate
/// what is specific to them.
struct domain_definition {
  std::string type;          ///< `test` or `qemu` (the `type` attribute).
  std::string name;          ///< 1-64 of [A-Za-z0-9_.-].
  std::string uuid;          ///< RFC 4122 text form, lowercase.
  uint64_t memory_bytes = 0; ///< Multiple of the page size.
  uint32_t vcpus = 1;
  /// `<workload dirty-rate='MiB/s' working-set='MiB'/>`: how fast the guest
  /// writes memory and over how much of it. 0 working set = all of RAM.
  double dirty_rate_mibps = 0;
  uint64_t working_set_bytes = 0;
  /// `<os><kernel>PATH</kernel><initrd>…<cmdline>…</os>` (QEMU).
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  /// `<os><type machine=…>`: QEMU's machine type, e.g. `pc-i440fx-7.2`;
  /// empty for QEMU's default `pc`.
  std::string machine;
  /// `<os><boot dev=…>` in order: `hd`, `cdrom`, `network`.
  std::vector<std::string> boot;
  /// `<features>`: libvirt's meaning, no `<acpi/>` is a guest without ACPI.
  bool acpi = false;
  bool apic = false;
  bool vmport_off = false; ///< `<vmport state='off'/>`.
  cpu_spec cpu;
  domain_devices devices;
  /// Elements accepted without effect on a ferry guest (`<clock>`,
  /// `<devices><graphics>`, …), in document order, for the user to see.
  std::vector<std::string> ignored;
  /// The document as defined, with what ferry generated (UUID, MACs)
  /// filled in: `dumpxml` and migrations carry it, so a definition keeps
  /// every element the user wrote. Empty for definitions built in code.
  std::string xml;

  /// Working set in pages, clamped to RAM.
  uint64_t working_set_pages() const;
};

/// Largest guest ferry accepts (sanity bound on hostile XML).
constexpr uint64_t max_memory_bytes = uint64_t{64} << 30;

/// Parses and validates domain XML. Unknown elements and attributes are
/// errors, not silently dropped. A missing UUID is generated.
caf::expected<domain_definition> parse_domain_xml(const std::string& xml);

/// Writes `def` back as XML that `parse_domain_xml` accepts: the document
/// it was defined from (`def.xml`) with `def.name`, or one built from the
/// fields for definitions built in code.
std::string to_xml(const domain_definition& def);

/// Records the machine type a driver chose (QEMU's versioned name) in
/// `def` and in its kept document (`<os><type machine=…>`), so dumpxml and
/// migrations carry it.
void set_machine(domain_definition& def, const std::string& machine);

/// True for names ferry accepts: 1-64 of [A-Za-z0-9_.-], not starting with '.'.
bool valid_domain_name(const std::string& name);

} // namespace ferry
