#include "drivers/qemu/qemu_command_line.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "drivers/qemu/qemu_devices.hpp"
#include "drivers/qemu/test_guest.hpp"
#include "util/error.hpp"

using namespace ferry;

namespace {

/// A temporary file with `content`, removed at the end of the test.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& content) {
    char tmpl[] = "/tmp/ferry-kernel-XXXXXX";
    int fd = ::mkstemp(tmpl);
    path = tmpl;
    auto n = ::write(fd, content.data(), content.size());
    (void) n;
    ::close(fd);
  }
  ~temp_file() {
    ::unlink(path.c_str());
  }
};

domain_definition def_with(const std::string& kernel, uint64_t ws) {
  domain_definition def;
  def.type = "qemu";
  def.name = "vm1";
  def.uuid = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
  def.memory_bytes = 256u << 20;
  def.vcpus = 2;
  def.kernel = kernel;
  def.working_set_bytes = ws;
  return def;
}

bool has(const std::vector<std::string>& argv, const std::string& a,
         const std::string& b) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == a && argv[i + 1] == b)
      return true;
  return false;
}

} // namespace

TEST(qemu_command_line, tcg_machine_without_defaults_and_qmp_socket) {
  qemu_command_line cmd;
  cmd.def = def_with("", 0);
  cmd.qmp_path = "/run/x.qmp";
  auto argv = cmd.argv();
  EXPECT_EQ(argv.front(), "qemu-system-x86_64");
  // No <features><acpi/>: libvirt's meaning, a guest without ACPI.
  EXPECT_TRUE(has(argv, "-machine", "pc,accel=tcg,acpi=off"));
  EXPECT_TRUE(has(argv, "-m", "256M"));
  EXPECT_TRUE(has(argv, "-smp", "2"));
  EXPECT_TRUE(has(argv, "-display", "none"));
  EXPECT_TRUE(has(argv, "-uuid", "c7a5fdbd-edaf-9455-926a-d65c16db1809"));
  EXPECT_TRUE(has(argv, "-qmp", "unix:/run/x.qmp,server=on,wait=off"));
  EXPECT_TRUE(has(argv, "-sandbox",
                  "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
                  "resourcecontrol=deny"));
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-nodefaults"), argv.end());
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "-S"), argv.end());
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "-kernel"), argv.end());
}

TEST(qemu_command_line, incoming_qemu_waits_paused_for_migrate_incoming) {
  qemu_command_line cmd;
  cmd.def = def_with("", 0);
  cmd.incoming = true;
  auto argv = cmd.argv();
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-S"), argv.end());
  EXPECT_TRUE(has(argv, "-incoming", "defer"));
}

TEST(qemu_command_line, working_set_goes_to_the_test_guest_only) {
  temp_file guest{std::string(48, '\x90') + test_guest::signature};
  temp_file other{"not the test guest"};
  EXPECT_TRUE(test_guest::is_test_guest(guest.path));
  EXPECT_FALSE(test_guest::is_test_guest(other.path));
  EXPECT_FALSE(test_guest::is_test_guest("/nonexistent/kernel"));
  qemu_command_line cmd;
  cmd.def = def_with(guest.path, 32u << 20);
  auto argv = cmd.argv();
  EXPECT_TRUE(has(argv, "-kernel", guest.path));
  EXPECT_TRUE(has(argv, "-device",
                  "loader,addr=2093056,data=33554432,data-len=4"));
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "-device"), 1)
    << "the working set only: no pace without a dirty rate";
  cmd.def = def_with(other.path, 32u << 20);
  argv = cmd.argv();
  EXPECT_TRUE(has(argv, "-kernel", other.path));
  EXPECT_FALSE(has(argv, "-device",
                   "loader,addr=2093056,data=33554432,data-len=4"));
}

TEST(qemu_command_line, dirty_rate_paces_the_test_guest_in_pages_per_second) {
  temp_file guest{std::string(48, '\x90') + test_guest::signature};
  qemu_command_line cmd;
  cmd.def = def_with(guest.path, 32u << 20);
  cmd.def.dirty_rate_mibps = 12.5;
  auto argv = cmd.argv();
  EXPECT_TRUE(has(argv, "-device", "loader,addr=2093060,data=3200,data-len=4"));
  EXPECT_EQ(test_guest::pages_per_second(0), 0u);
  EXPECT_EQ(test_guest::pages_per_second(0.001), 1u);
  EXPECT_EQ(test_guest::pages_per_second(1e6),
            test_guest::max_pages_per_second);
}

// -- devices (drivers/qemu/qemu_devices.hpp) --------------------------------

namespace {

std::vector<std::string> argv_of(const std::string& xml, bool kvm = false) {
  auto def = parse_domain_xml(xml);
  EXPECT_TRUE(def) << error_text(def.error());
  qemu_command_line cmd;
  cmd.def = *def;
  cmd.kvm = kvm;
  cmd.qmp_path = "/run/x.qmp";
  cmd.serial_log = "/state/d.serial.log";
  cmd.taps = qemu_devices::tap_names(*def, "ab");
  return cmd.argv();
}

const char* real_vm = R"(<domain type='kvm'><name>d</name>
  <uuid>3c5a1b9e-9f0e-4a0a-8f54-2b8a1c0d7e21</uuid>
  <memory unit='MiB'>512</memory><vcpu>2</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/><boot dev='cdrom'/></os>
  <features><acpi/><apic/><vmport state='off'/></features>
  <cpu mode='custom'><model>Skylake-Client</model>
    <feature policy='disable' name='hle'/>
    <topology sockets='1' cores='2' threads='1'/></cpu>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'
      cache='none'/><source file='/srv/a,b.qcow2'/><target dev='vda'
      bus='virtio'/></disk>
    <disk type='file' device='cdrom'><source file='/srv/cd.iso'/>
      <target dev='sdb' bus='sata'/></disk>
    <disk type='block'><source dev='/dev/vg/c'/><target dev='hdc'/>
      <driver name='qemu' type='raw' cache='writethrough'/></disk>
    <interface type='user'><mac address='52:54:00:00:00:01'/></interface>
    <interface type='bridge'><mac address='52:54:00:00:00:02'/>
      <source bridge='br0'/><model type='e1000'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <serial type='file'><source path='/var/log/s1' append='on'/>
      <target port='1'/></serial>
  </devices></domain>)";

} // namespace

TEST(qemu_devices, a_real_vm_gets_its_machine_cpu_and_devices) {
  auto argv = argv_of(real_vm, true);
  EXPECT_TRUE(has(argv, "-machine", "pc-i440fx-7.2,accel=kvm,vmport=off"));
  EXPECT_TRUE(has(argv, "-cpu", "Skylake-Client,-hle"));
  EXPECT_TRUE(has(argv, "-smp", "2,sockets=1,cores=2,threads=1"));
  EXPECT_TRUE(has(argv, "-boot", "order=cd"));
  // Slot 3: the SATA controller, then virtio disks, then NICs.
  EXPECT_TRUE(has(argv, "-device", "ahci,id=sata0,bus=pci.0,addr=0x3"));
  EXPECT_TRUE(has(argv, "-blockdev",
                  "driver=file,filename=/srv/a,,b.qcow2,node-name=file-vda,"
                  "cache.direct=on,cache.no-flush=off,read-only=off,"
                  "discard=unmap"));
  EXPECT_TRUE(has(argv, "-blockdev",
                  "driver=qcow2,file=file-vda,node-name=drive-vda,"
                  "cache.direct=on,cache.no-flush=off,read-only=off"));
  EXPECT_TRUE(has(argv, "-device",
                  "virtio-blk-pci,bus=pci.0,addr=0x4,id=disk-vda,"
                  "drive=drive-vda,write-cache=on"));
  EXPECT_TRUE(has(argv, "-device",
                  "ide-cd,bus=sata0.1,id=disk-sdb,drive=drive-sdb"));
  EXPECT_TRUE(has(argv, "-blockdev",
                  "driver=host_device,filename=/dev/vg/c,node-name=file-hdc,"
                  "cache.direct=off,cache.no-flush=off,read-only=off,"
                  "discard=unmap"));
  EXPECT_TRUE(has(argv, "-device",
                  "ide-hd,bus=ide.1,unit=0,id=disk-hdc,drive=drive-hdc,"
                  "write-cache=off"));
  EXPECT_TRUE(has(argv, "-netdev", "user,id=net0"));
  EXPECT_TRUE(has(argv, "-device",
                  "virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:00:00:01,"
                  "bus=pci.0,addr=0x5,romfile="));
  EXPECT_TRUE(has(argv, "-netdev",
                  "tap,id=net1,ifname=fy3c5a1bab1,script=no,downscript=no"));
  EXPECT_TRUE(has(argv, "-device",
                  "e1000,netdev=net1,id=nic1,mac=52:54:00:00:00:02,"
                  "bus=pci.0,addr=0x6,romfile="));
  EXPECT_TRUE(has(argv, "-chardev",
                  "pty,id=charserial0,logfile=/state/d.serial.log,"
                  "logappend=on"));
  EXPECT_TRUE(has(argv, "-device",
                  "isa-serial,chardev=charserial0,id=serial0,index=0"));
  EXPECT_TRUE(has(argv, "-chardev",
                  "file,id=charserial1,path=/var/log/s1,append=on"));
}

TEST(qemu_devices, the_same_definition_gives_the_same_layout) {
  // A destination starts from the migrated definition: only the tap names
  // (new for each QEMU) may differ.
  auto a = argv_of(real_vm);
  auto def = parse_domain_xml(real_vm);
  ASSERT_TRUE(def);
  auto b = argv_of(to_xml(*def));
  EXPECT_EQ(a, b);
}

TEST(qemu_devices, direct_kernel_boot_with_initrd_on_q35) {
  auto argv = argv_of(R"(<domain type='qemu'><name>d</name>
    <memory unit='MiB'>256</memory>
    <os><type machine='q35'>hvm</type><kernel>/k/vmlinuz</kernel>
      <initrd>/k/initrd</initrd><cmdline>console=ttyS0</cmdline></os>
    <devices><disk type='file'><source file='/d.img'/><target dev='sda'/>
      </disk><disk type='file'><source file='/e.img'/><target dev='vdb'/>
      <readonly/><shareable/><serial>X1</serial><boot order='1'/></disk>
    </devices></domain>)");
  EXPECT_TRUE(has(argv, "-machine", "q35,accel=tcg,acpi=off"));
  EXPECT_TRUE(has(argv, "-kernel", "/k/vmlinuz"));
  EXPECT_TRUE(has(argv, "-initrd", "/k/initrd"));
  EXPECT_TRUE(has(argv, "-append", "console=ttyS0"));
  EXPECT_TRUE(has(argv, "-device",
                  "ide-hd,bus=ide.0,id=disk-sda,drive=drive-sda,"
                  "write-cache=on"))
    << "q35's own AHCI";
  EXPECT_TRUE(has(argv, "-device",
                  "virtio-blk-pci,bus=pcie.0,addr=0x3,id=disk-vdb,"
                  "drive=drive-vdb,write-cache=on,serial=X1,share-rw=on,"
                  "bootindex=1"));
  EXPECT_FALSE(has(argv, "-device", "ahci,id=sata0,bus=pcie.0,addr=0x3"));
}

TEST(qemu_devices, layouts_a_machine_cannot_have_are_refused) {
  auto check = [](const std::string& devices, const std::string& machine) {
    auto def = parse_domain_xml(
      "<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory>"
      "<os><type machine='" + machine + "'>hvm</type></os><devices>"
      + devices + "</devices></domain>");
    EXPECT_TRUE(def) << error_text(def.error());
    auto err = qemu_devices::check(*def);
    return err ? error_text(err) : std::string{};
  };
  auto ide = "<disk type='file'><source file='/a'/><target dev='hda'/></disk>";
  EXPECT_EQ(check(ide, "pc"), "");
  EXPECT_NE(check(ide, "pc-q35-7.2").find("has no IDE bus"), std::string::npos);
  EXPECT_NE(check("<disk type='file'><source file='/a'/><target dev='hde'/>"
                  "</disk>", "pc").find("hda to hdd"),
            std::string::npos);
  EXPECT_NE(check("<disk type='file'><source file='/a'/><target dev='sdg'/>"
                  "</disk>", "pc").find("sda to sdf"),
            std::string::npos);
  std::string many;
  for (char c = 'a'; c <= 'z'; ++c)
    many += std::string{"<disk type='file'><source file='/a'/><target dev='vd"}
            + c + "'/></disk>";
  for (int i = 0; i < 4; ++i)
    many += "<interface type='user'/>";
  EXPECT_NE(check(many, "pc").find("PCI slots"), std::string::npos);
}
