// Domain XML beyond the scalars: what `virsh dumpxml` prints for a real
// guest, the devices ferry gives it, what it ignores and what it refuses.

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "drivers/domain_definition.hpp"
#include "util/error.hpp"

using namespace ferry;

namespace {

std::string read_data(const std::string& name) {
  std::ifstream in{std::string{FERRY_SOURCE_ROOT} + "/tests/data/" + name};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string error_of(const std::string& xml) {
  auto r = parse_domain_xml(xml);
  return r ? "" : error_text(r.error());
}

/// A qemu domain whose <devices> are `devices`.
std::string with_devices(const std::string& devices,
                         const std::string& os = "") {
  return "<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory>"
         + os + "<devices>" + devices + "</devices></domain>";
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

} // namespace

TEST(domain_devices, a_libvirt_9_dump_of_a_real_guest_defines_as_it_is) {
  auto xml = read_data("libvirt-9.0-debian12.xml");
  ASSERT_FALSE(xml.empty());
  auto def = parse_domain_xml(xml);
  ASSERT_TRUE(def) << error_text(def.error());
  EXPECT_EQ(def->type, "kvm");
  EXPECT_EQ(def->machine, "pc-q35-7.2");
  EXPECT_EQ(def->boot, std::vector<std::string>{"hd"});
  EXPECT_TRUE(def->acpi);
  EXPECT_TRUE(def->apic);
  EXPECT_TRUE(def->vmport_off);
  EXPECT_EQ(def->cpu.mode, "host-passthrough");
  EXPECT_EQ(def->cpu.cores, 2u);
  ASSERT_EQ(def->devices.disks.size(), 2u);
  auto& vda = def->devices.disks[0];
  EXPECT_EQ(vda.target, "vda");
  EXPECT_EQ(vda.bus, "virtio");
  EXPECT_EQ(vda.format, "qcow2");
  EXPECT_EQ(vda.source, "/var/lib/libvirt/images/deb12.qcow2");
  auto& cd = def->devices.disks[1];
  EXPECT_EQ(cd.device, "cdrom");
  EXPECT_EQ(cd.bus, "sata");
  EXPECT_TRUE(cd.readonly);
  EXPECT_TRUE(cd.source.empty());
  ASSERT_EQ(def->devices.nets.size(), 1u);
  EXPECT_EQ(def->devices.nets[0].mac, "52:54:00:6b:3c:58");
  EXPECT_EQ(def->devices.nets[0].bridge, "br0");
  ASSERT_EQ(def->devices.serials.size(), 1u) << "the console is serial 0";
  EXPECT_EQ(def->devices.serials[0].type, "pty");
  for (auto* name : {"<clock>", "<on_poweroff>", "<pm>", "<seclabel>",
                     "<resource>", "<metadata>", "<devices><emulator>",
                     "<devices><controller>", "<devices><memballoon>",
                     "<devices><input>", "<devices><graphics>",
                     "<devices><video>"})
    EXPECT_TRUE(contains(def->ignored, name)) << name;
  auto inputs = std::count(def->ignored.begin(), def->ignored.end(),
                           "<devices><input>");
  EXPECT_EQ(inputs, 1) << "three <input>s are reported once";
}

TEST(domain_devices, dumpxml_gives_back_what_the_user_defined) {
  auto xml = read_data("libvirt-9.0-debian12.xml");
  auto def = parse_domain_xml(xml);
  ASSERT_TRUE(def);
  auto out = to_xml(*def);
  for (auto* kept : {"<on_poweroff>destroy</on_poweroff>", "tickpolicy",
                     "<graphics type=\"vnc\"", "libosinfo:os",
                     "52:54:00:6B:3C:58"})
    EXPECT_NE(out.find(kept), std::string::npos) << kept << "\n" << out;
  auto again = parse_domain_xml(out);
  ASSERT_TRUE(again) << out;
  EXPECT_EQ(again->devices.disks.size(), 2u);
  EXPECT_EQ(again->ignored, def->ignored);
  // A migration's --dname changes only the name.
  def->name = "deb12-copy";
  auto renamed = parse_domain_xml(to_xml(*def));
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->name, "deb12-copy");
  EXPECT_EQ(renamed->uuid, def->uuid);
}

TEST(domain_devices, generated_uuid_and_mac_are_kept_in_the_document) {
  auto def = parse_domain_xml(with_devices("<interface type='user'/>"));
  ASSERT_TRUE(def) << error_text(def.error());
  ASSERT_EQ(def->devices.nets.size(), 1u);
  auto mac = def->devices.nets[0].mac;
  EXPECT_EQ(mac.rfind("52:54:00:", 0), 0u) << mac;
  auto again = parse_domain_xml(to_xml(*def));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->devices.nets[0].mac, mac) << "the guest's MAC changed";
  EXPECT_EQ(again->uuid, def->uuid);
}

TEST(domain_devices, disks_nics_and_serials_in_document_order) {
  auto def = parse_domain_xml(with_devices(
    "<disk type='file' device='disk'><driver name='qemu' type='raw' "
    "cache='none'/><source file='/srv/a.img'/><target dev='vda' "
    "bus='virtio'/><shareable/><serial>S1</serial><boot order='2'/></disk>"
    "<disk type='block'><source dev='/dev/vg/b'/><target dev='hdb'/>"
    "<readonly/><boot order='1'/></disk>"
    "<interface type='ethernet'><target dev='tap7'/><model type='e1000'/>"
    "</interface>"
    "<serial type='file'><source path='/var/log/d.log' append='on'/></serial>"
    "<console type='pty'><target type='serial' port='1'/></console>"));
  ASSERT_TRUE(def) << error_text(def.error());
  auto& d = def->devices;
  ASSERT_EQ(d.disks.size(), 2u);
  EXPECT_EQ(d.disks[0].cache, "none");
  EXPECT_TRUE(d.disks[0].shareable);
  EXPECT_EQ(d.disks[0].serial, "S1");
  EXPECT_EQ(d.disks[0].boot_order, 2u);
  EXPECT_EQ(d.disks[1].source_type, "block");
  EXPECT_EQ(d.disks[1].bus, "ide") << "the name's prefix gives the bus";
  EXPECT_TRUE(d.disks[1].readonly);
  ASSERT_EQ(d.nets.size(), 1u);
  EXPECT_EQ(d.nets[0].model, "e1000");
  EXPECT_EQ(d.nets[0].target_dev, "tap7");
  ASSERT_EQ(d.serials.size(), 2u) << "a console on a new port adds one";
  EXPECT_EQ(d.serials[0].path, "/var/log/d.log");
  EXPECT_TRUE(d.serials[0].append);
  EXPECT_EQ(d.serials[1].port, 1u);
}

TEST(domain_devices, direct_kernel_boot_with_an_initrd) {
  auto def = parse_domain_xml(with_devices(
    "", "<os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>"
        "<kernel>/k/vmlinuz</kernel><initrd>/k/initrd.img</initrd>"
        "<cmdline>console=ttyS0</cmdline></os>"
        "<features><acpi/></features>"
        "<cpu mode='custom'><model fallback='allow'>qemu64</model>"
        "<feature policy='require' name='sse4.2'/>"
        "<feature policy='disable' name='svm'/></cpu>"));
  ASSERT_TRUE(def) << error_text(def.error());
  EXPECT_EQ(def->initrd, "/k/initrd.img");
  EXPECT_EQ(def->machine, "pc-i440fx-7.2");
  EXPECT_TRUE(def->acpi);
  EXPECT_FALSE(def->apic);
  EXPECT_EQ(def->cpu.model, "qemu64");
  ASSERT_EQ(def->cpu.features.size(), 2u);
  EXPECT_EQ(def->cpu.features[0], std::make_pair(std::string{"sse4.2"}, true));
  EXPECT_EQ(def->cpu.features[1], std::make_pair(std::string{"svm"}, false));
}

TEST(domain_devices, hardware_ferry_cannot_give_is_refused_in_one_line) {
  struct bad_case {
    std::string xml;
    const char* reason;
  };
  auto disk = [](const std::string& inner) {
    return with_devices("<disk type='file'>" + inner + "</disk>");
  };
  bad_case cases[] = {
    {with_devices("<hostdev mode='subsystem' type='pci'/>"),
     "unsupported device <hostdev>"},
    {with_devices("<filesystem type='mount'/>"), "unsupported device"},
    {with_devices("<interface type='network'><source network='default'/>"
                  "</interface>"),
     "type='bridge'"},
    {with_devices("<interface type='user'><mac address='01:00:5e:00:00:01'/>"
                  "</interface>"),
     "unicast"},
    {with_devices("<interface type='bridge'/>"), "source bridge"},
    {with_devices("<interface type='user'><model type='rtl8139'/>"
                  "</interface>"),
     "virtio or e1000"},
    {with_devices("<interface type='user'><mac address='52:54:00:00:00:01'/>"
                  "</interface><interface type='user'><mac "
                  "address='52:54:00:00:00:01'/></interface>"),
     "two interfaces with MAC"},
    {disk("<source file='rel.img'/><target dev='vda'/>"), "absolute path"},
    {disk("<source file='/a'/><target dev='vda' bus='scsi'/>"),
     "disk bus 'scsi'"},
    {disk("<driver name='qemu' type='vmdk'/><source file='/a'/>"
          "<target dev='vda'/>"),
     "format 'vmdk'"},
    {disk("<source file='/a'/>"), "needs <target"},
    {disk("<target dev='vda'/>"), "needs <source>"},
    {disk("<source file='/a'/><target dev='vda'/><encryption/>"),
     "unsupported element <encryption>"},
    {with_devices("<disk type='network'/>"), "only 'file' or 'block'"},
    {with_devices("<disk type='file'><source file='/a'/><target dev='vda'/>"
                  "</disk><disk type='file'><source file='/b'/>"
                  "<target dev='vda'/></disk>"),
     "two disks with target dev 'vda'"},
    {with_devices("<disk type='file' device='cdrom'><target dev='vdb'/>"
                  "</disk>"),
     "sata or ide"},
    {with_devices("<serial type='tcp'/>"), "only 'pty' or 'file'"},
    {with_devices("<serial type='pty'><target port='7'/></serial>"),
     "port must be 0 to 3"},
    {with_devices("<console type='pty'><target type='virtio'/></console>"),
     "ISA serial ports"},
    {with_devices("", "<os><loader>/OVMF.fd</loader></os>"), "UEFI"},
    {with_devices("", "<os><boot dev='fd'/></os>"), "<boot dev='fd'>"},
    {with_devices("", "<os><type arch='aarch64'>hvm</type></os>"), "x86_64"},
    {with_devices("", "<os><cmdline>x</cmdline></os>"), "needs an <os><kernel>"},
    {with_devices("", "<features><hyperv/></features>"),
     "unsupported feature <hyperv>"},
    {with_devices("", "<cpu mode='maximum'/>"), "<cpu mode='maximum'>"},
    {with_devices("", "<cpu><topology sockets='2' cores='2' threads='1'/>"
                      "</cpu>"),
     "multiply to <vcpu>"},
    {with_devices("<disk type='file'><source file='/a'/><target dev='vda'/>"
                  "<boot order='1'/></disk>",
                  "<os><boot dev='hd'/></os>"),
     "cannot be mixed"},
  };
  for (auto& c : cases) {
    auto err = error_of(c.xml);
    ASSERT_FALSE(err.empty()) << c.xml;
    EXPECT_NE(err.find(c.reason), std::string::npos) << c.xml << " -> " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}
