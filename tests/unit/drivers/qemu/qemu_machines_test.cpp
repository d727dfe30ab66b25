// Machine types (drivers/qemu/qemu_machines.hpp): the versioned name a
// definition records, so both ends of a migration run the same machine.

#include "drivers/qemu/qemu_machines.hpp"

#include <gtest/gtest.h>

#include "drivers/domain_definition.hpp"
#include "util/error.hpp"

using namespace ferry;

namespace {

// What QEMU 7.2 prints, shortened.
const char* help = R"(Supported machines are:
microvm              microvm (i386)
pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)
pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)
pc-i440fx-7.1        Standard PC (i440FX + PIIX, 1996)
q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)
pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)
none                 empty machine
)";

} // namespace

TEST(qemu_machines, aliases_resolve_to_versioned_names) {
  auto m = parse_machine_help(help);
  EXPECT_EQ(m.resolve("", "qemu").value(), "pc-i440fx-7.2")
    << "no machine: ferry's default, pc";
  EXPECT_EQ(m.resolve("pc", "qemu").value(), "pc-i440fx-7.2");
  EXPECT_EQ(m.resolve("q35", "qemu").value(), "pc-q35-7.2");
  EXPECT_EQ(m.resolve("pc-i440fx-7.1", "qemu").value(), "pc-i440fx-7.1");
  auto missing = m.resolve("pc-i440fx-8.2", "/usr/bin/qemu");
  ASSERT_FALSE(missing);
  EXPECT_NE(error_text(missing.error())
              .find("QEMU (/usr/bin/qemu) does not offer machine type "
                    "'pc-i440fx-8.2'"),
            std::string::npos)
    << error_text(missing.error());
  EXPECT_FALSE(m.resolve("Supported", "qemu"));
}

TEST(qemu_machines, the_recorded_machine_is_in_the_kept_document) {
  auto def = parse_domain_xml(
    "<domain type='qemu'><name>m</name><memory unit='MiB'>64</memory>"
    "<vcpu>1</vcpu><clock offset='utc'/></domain>");
  ASSERT_TRUE(def);
  set_machine(*def, "pc-i440fx-7.2");
  auto again = parse_domain_xml(to_xml(*def));
  ASSERT_TRUE(again) << to_xml(*def);
  EXPECT_EQ(again->machine, "pc-i440fx-7.2");
  EXPECT_NE(to_xml(*def).find("<clock"), std::string::npos);
  // Already typed: only the machine changes.
  auto typed = parse_domain_xml(
    "<domain type='qemu'><name>m</name><memory unit='MiB'>64</memory>"
    "<os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>"
    "</domain>");
  ASSERT_TRUE(typed);
  set_machine(*typed, "pc-q35-7.2");
  auto back = parse_domain_xml(to_xml(*typed));
  ASSERT_TRUE(back) << to_xml(*typed);
  EXPECT_EQ(back->machine, "pc-q35-7.2");
  EXPECT_EQ(back->boot, std::vector<std::string>{"hd"});
}
