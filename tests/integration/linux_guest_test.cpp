// A real Linux guest (Debian's cloud kernel and busybox, built by
// tools/guest/build-linux-guest.sh, docs/testing.md) on the qemu driver:
// defined from libvirt-style XML with a virtio disk, a NIC and a serial
// console, it migrates live in every mode without rebooting or losing a
// write. These tests FAIL when the guest cannot be built (no Debian
// mirror reachable): CI can build it, so it never skips them.

#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <regex>

#include <sys/wait.h>

#include "tests/integration/qemu_fixture.hpp"
#include "util/process.hpp"

using namespace ferry;
using namespace ferry::test;

namespace {

/// Runs `argv` and returns its exit code (-1 if it did not run). The
/// harness's reaper collects every child, so std::system cannot wait.
int run(const std::vector<std::string>& argv, int timeout_ms = 10000) {
  process::spawn_request req;
  req.argv = argv;
  std::string err;
  auto pid = process::spawn(req, err);
  int status = 0;
  if (pid <= 0 || !process::wait_exit(pid, timeout_ms, &status))
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// The guest's files, built (or found cached) once per test process.
struct linux_guest_files {
  std::string kernel, initrd, cmdline, error;
};

const linux_guest_files& linux_guest() {
  static linux_guest_files files = [] {
    linux_guest_files f;
    const char* builder = std::getenv("FERRY_LINUX_GUEST_BUILDER");
    const char* dir = std::getenv("FERRY_LINUX_GUEST_DIR");
    if (builder == nullptr || dir == nullptr) {
      f.error = "FERRY_LINUX_GUEST_BUILDER/_DIR are not set (run via meson)";
      return f;
    }
    auto cmd = std::string{builder} + " " + dir + " >" + dir
               + ".build.log 2>&1";
    if (run({"/bin/sh", "-c", cmd}, 600000) != 0) {
      f.error = "building the Linux guest failed, see " + std::string{dir}
                + ".build.log";
      return f;
    }
    f.kernel = std::string{dir} + "/vmlinuz";
    f.initrd = std::string{dir} + "/initrd.img";
    auto line = ferry::files::read(std::string{dir} + "/cmdline");
    f.cmdline = line ? *line : "";
    while (!f.cmdline.empty() && f.cmdline.back() == '\n')
      f.cmdline.pop_back();
    return f;
  }();
  return files;
}

/// What the guest's console says (docs/testing.md's contract).
struct console_view {
  std::vector<std::string> boots; ///< IDs of `ferry-guest: boot ID` lines.
  long last_tick = -1;
  std::string mac;
};

console_view read_console(const std::string& path) {
  console_view v;
  auto text = ferry::files::read(path, 64 << 20);
  if (!text)
    return v;
  static const std::regex line{"ferry-guest: (boot|tick|mac) ([^\r\n]+)"};
  for (auto it = std::sregex_iterator(text->begin(), text->end(), line);
       it != std::sregex_iterator(); ++it) {
    auto what = (*it)[1].str();
    auto value = (*it)[2].str();
    if (what == "boot")
      v.boots.push_back(value);
    else if (what == "mac")
      v.mac = value;
    else
      v.last_tick = std::atol(value.c_str());
  }
  return v;
}

/// Sector 0 of the guest's disk: `ferry-guest tick N boot ID`.
std::pair<long, std::string> read_disk_record(const std::string& disk) {
  std::ifstream in{disk, std::ios::binary};
  std::string sector(512, '\0');
  in.read(sector.data(), 512);
  static const std::regex record{"ferry-guest tick ([0-9]+) boot ([^\n]+)"};
  std::smatch m;
  if (!std::regex_search(sector, m, record))
    return {-1, ""};
  return {std::atol(m[1].str().c_str()), m[2].str()};
}

} // namespace

class linux_vm : public qemu {
protected:
  void SetUp() override {
    auto& g = linux_guest();
    ASSERT_EQ(g.error, "") << g.error;
    qemu::SetUp();
    char tmpl[] = "/tmp/ferry-linux-vm-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    disk_ = dir_ + "/disk.raw"; // shared storage: both agents see this path
    std::ofstream{disk_}.close();
    ASSERT_EQ(::truncate(disk_.c_str(), 4 << 20), 0);
  }

  void TearDown() override {
    qemu::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string vm_xml(const std::string& name,
                     const std::string& nic = "<interface type='user'>") {
    auto& g = linux_guest();
    return "<domain type='qemu'><name>" + name
           + "</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
             "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>"
           + g.kernel + "</kernel><initrd>" + g.initrd + "</initrd><cmdline>"
           + g.cmdline
           + "</cmdline></os><features><acpi/><apic/></features>"
             "<clock offset='utc'/><on_poweroff>destroy</on_poweroff>"
             "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
             "<disk type='file' device='disk'><driver name='qemu' type='raw'"
             " cache='none'/><source file='"
           + disk_
           + "'/><target dev='vda' bus='virtio'/></disk>"
           + nic + "<mac address='" + mac_
           + "'/><model type='virtio'/></interface>"
             "<serial type='pty'><target port='0'/></serial>"
             "<console type='pty'><target type='serial' port='0'/></console>"
             "<graphics type='vnc' port='-1'/></devices></domain>";
  }

  std::string console_log(const std::string& node, const std::string& dom) {
    return cl.at(node).options().state_dir + "/qemu/run/" + dom
           + ".serial.log";
  }

  /// Waits until `node`'s console log of `dom` shows a tick beyond `after`.
  console_view wait_tick(const std::string& node, const std::string& dom,
                         long after, int seconds = 90) {
    console_view v;
    for (int i = 0; i < seconds * 10; ++i) {
      v = read_console(console_log(node, dom));
      if (v.last_tick > after)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
    return v;
  }

  /// The number of live QEMU processes on this machine whose command line
  /// names `dom`'s UUID (so stray copies are found whatever agents say).
  int qemus_of(const std::string& uuid) {
    int n = 0;
    for (auto& entry : std::filesystem::directory_iterator("/proc")) {
      auto pid = entry.path().filename().string();
      if (pid.find_first_not_of("0123456789") != std::string::npos)
        continue;
      auto cmdline = ferry::files::read("/proc/" + pid + "/cmdline");
      if (cmdline && cmdline->find("qemu-system") != std::string::npos
          && cmdline->find(uuid) != std::string::npos)
        ++n;
    }
    return n;
  }

  std::string uuid_of(const std::string& node, const std::string& dom) {
    auto r = q(node, {"--json", "dominfo", dom});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("uuid", "") : "";
  }

  std::string dir_, disk_;
  std::string mac_ = "52:54:00:fe:12:34";
};

TEST_F(linux_vm, boots_with_its_disk_nic_and_console) {
  auto out = qok("a", {"define", xml_file("deb", vm_xml("deb"))});
  EXPECT_NE(out.find("Ignored (no effect on a ferry guest): <clock> "
                     "<on_poweroff> <devices><emulator> <devices><graphics>"),
            std::string::npos)
    << out;
  qok("a", {"start", "deb"});
  auto v = wait_tick("a", "deb", 3);
  auto qemu_log = ferry::files::read(cl.at("a").options().state_dir
                                     + "/qemu/run/deb.log");
  ASSERT_GT(v.last_tick, 3) << "no ticks on the console; QEMU log:\n"
                            << (qemu_log ? *qemu_log : "?");
  EXPECT_EQ(v.boots.size(), 1u);
  EXPECT_EQ(v.mac, mac_) << "the NIC does not carry the defined MAC";
  auto [tick, boot] = read_disk_record(disk_);
  EXPECT_GE(tick, 1) << "nothing on the virtio disk";
  EXPECT_EQ(boot, v.boots.at(0));
  auto xml = qok("a", {"dumpxml", "deb"});
  EXPECT_NE(xml.find("<on_poweroff>destroy</on_poweroff>"), std::string::npos)
    << "dumpxml lost what the user defined:\n" << xml;
  // machine='pc' is recorded as QEMU's versioned name, e.g. pc-i440fx-7.2.
  EXPECT_NE(xml.find("machine=\"pc-i440fx-"), std::string::npos) << xml;
  EXPECT_EQ(qemus_of(uuid_of("a", "deb")), 1);
  qok("a", {"destroy", "deb"});
  EXPECT_EQ(qemus_of(uuid_of("a", "deb")), 0);
}

TEST_F(linux_vm, migrates_live_in_every_mode_without_reboot_or_lost_writes) {
  qok("a", {"define", xml_file("mover", vm_xml("mover"))});
  qok("a", {"start", "mover"});
  auto first = wait_tick("a", "mover", 3);
  ASSERT_GT(first.last_tick, 3) << "the guest never ticked";
  ASSERT_EQ(first.boots.size(), 1u);
  auto boot = first.boots[0];
  auto uuid = uuid_of("a", "mover");
  // One guest moves a → b → a → b: managed, then p2p, then tunnelled.
  struct hop {
    const char* mode;
    std::string from, to;
    std::vector<std::string> flags;
  };
  const hop hops[] = {{"managed", "a", "b", {}},
                      {"p2p", "b", "a", {"--p2p"}},
                      {"tunnelled", "a", "b", {"--p2p", "--tunnelled"}}};
  for (auto& h : hops) {
    SCOPED_TRACE(h.mode);
    auto before = read_console(console_log(h.from, "mover")).last_tick;
    std::vector<std::string> args{"--json", "migrate", "--live"};
    args.insert(args.end(), h.flags.begin(), h.flags.end());
    args.insert(args.end(), {"mover", uri(h.to)});
    auto res = nlohmann::json::parse(qok(h.from, args), nullptr, false);
    ASSERT_TRUE(res.is_object());
    EXPECT_EQ(res.value("mode", ""), h.mode);
    EXPECT_EQ(state(h.to, "mover"), "running");
    EXPECT_EQ(qemu_pid(h.from, "mover"), -1) << "the source QEMU still runs";
    EXPECT_EQ(qemus_of(uuid), 1) << "not exactly one QEMU runs the guest";
    // The same boot goes on counting on the destination's console.
    auto after = wait_tick(h.to, "mover", before + 2, 60);
    EXPECT_GT(after.last_tick, before + 2)
      << "the guest stopped counting after the move";
    auto all_boots = read_console(console_log(h.to, "mover")).boots;
    for (auto& id : all_boots)
      EXPECT_EQ(id, boot) << "the guest rebooted on the destination";
    // Every write it made before and during the move is on the disk.
    auto [tick, disk_boot] = read_disk_record(disk_);
    EXPECT_EQ(disk_boot, boot);
    EXPECT_GE(tick, before) << "writes from before the move are missing";
    std::cout << "[ linux    ] " << h.mode << " " << h.from << " -> " << h.to
              << ": tick " << before << " before, " << after.last_tick
              << " after on the destination, disk at " << tick << ", "
              << res.value("total_ms", 0) << " ms, downtime "
              << res.value("downtime_ms", 0) << " ms" << std::endl;
    // The destination's QEMU carries the same NIC.
    auto pid = qemu_pid(h.to, "mover");
    auto cmdline = ferry::files::read("/proc/" + std::to_string(pid)
                                      + "/cmdline");
    ASSERT_TRUE(cmdline) << "no destination QEMU";
    EXPECT_NE(cmdline->find("mac=" + mac_), std::string::npos);
    EXPECT_NE(cmdline->find("pc-i440fx-"), std::string::npos)
      << "the destination runs another machine type";
  }
  qok("b", {"destroy", "mover"});
  EXPECT_EQ(qemus_of(uuid), 0);
}

TEST_F(linux_vm, a_destination_qemu_killed_mid_migration_leaves_one_guest) {
  qok("a", {"define", xml_file("victim", vm_xml("victim"))});
  qok("a", {"start", "victim"});
  auto first = wait_tick("a", "victim", 3);
  ASSERT_GT(first.last_tick, 3);
  auto uuid = uuid_of("a", "victim");
  // Slow enough (1 MiB/s for a 128 MiB guest) to kill it mid-transfer.
  auto job = std::async(std::launch::async, [&] {
    return q("a", {"migrate", "--live", "--p2p", "--bandwidth", "1",
                   "victim", uri("b")});
  });
  pid_t dest = -1;
  for (int i = 0; i < 200 && dest <= 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    dest = qemu_pid("b", "victim");
  }
  ASSERT_GT(dest, 0) << "the destination QEMU never started";
  std::this_thread::sleep_for(std::chrono::seconds{2});
  ::kill(dest, SIGKILL);
  auto r = job.get();
  EXPECT_NE(r.rc, 0) << "the migration succeeded without its destination";
  std::cout << "[ linux    ] destination QEMU killed: " << r.err;
  EXPECT_EQ(state("a", "victim"), "running");
  EXPECT_TRUE(wait_state("b", "victim", "absent")) << state("b", "victim");
  EXPECT_EQ(qemus_of(uuid), 1) << "not exactly one QEMU runs the guest";
  auto before = read_console(console_log("a", "victim")).last_tick;
  auto later = wait_tick("a", "victim", before + 2, 30);
  EXPECT_GT(later.last_tick, before + 2) << "the source guest stopped";
  EXPECT_EQ(later.boots.size(), 1u) << "the source guest rebooted";
  auto [tick, boot] = read_disk_record(disk_);
  EXPECT_EQ(boot, later.boots.at(0)) << "the disk was written by another boot";
  EXPECT_GE(tick, before);
  qok("a", {"destroy", "victim"});
}

namespace {

/// The interfaces plugged into bridge `br` (its `brif` directory).
std::vector<std::string> ports_of(const std::string& br) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(
         "/sys/class/net/" + br + "/brif", ec))
    out.push_back(e.path().filename().string());
  return out;
}

} // namespace

TEST_F(linux_vm, a_bridged_nic_is_plugged_into_its_bridge_on_each_host) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "creating a bridge needs root (CI runs as root)";
  const std::string br = "fybr" + std::to_string(::getpid() % 10000);
  ASSERT_EQ(run({"ip", "link", "add", br, "type", "bridge"}), 0);
  struct bridge_guard {
    std::string name;
    ~bridge_guard() {
      run({"ip", "link", "del", name});
    }
  } guard{br};
  qok("a", {"define", xml_file("br", vm_xml("br", "<interface type='bridge'>"
                                                  "<source bridge='" + br
                                                    + "'/>"))});
  qok("a", {"start", "br"});
  auto v = wait_tick("a", "br", 2);
  ASSERT_GT(v.last_tick, 2);
  EXPECT_EQ(v.mac, mac_) << "the guest has no NIC with the defined MAC";
  auto before = ports_of(br);
  ASSERT_EQ(before.size(), 1u) << "the tap is not in the bridge";
  EXPECT_EQ(before[0].rfind("fy", 0), 0u) << before[0];
  qok("a", {"migrate", "--live", "--p2p", "br", uri("b")});
  auto after = ports_of(br);
  ASSERT_EQ(after.size(), 1u) << "not exactly the destination's tap";
  EXPECT_NE(after[0], before[0]) << "the source's tap outlived its QEMU";
  EXPECT_GT(wait_tick("b", "br", v.last_tick + 1).last_tick, v.last_tick + 1);
  qok("b", {"destroy", "br"});
  EXPECT_TRUE(ports_of(br).empty()) << "a tap outlived its QEMU";
  // A bridge that does not exist: start fails in one line, nothing runs.
  qok("a", {"define", xml_file("nobr", vm_xml("nobr", "<interface "
                                                      "type='bridge'><source "
                                                      "bridge='fynone0'/>"))});
  qfails("a", {"start", "nobr"}, "cannot add tap");
  EXPECT_EQ(state("a", "nobr"), "shut off");
}

// Firmware boot (<os><boot dev='hd'/>): SeaBIOS boots ferry's boot sector
// from a virtio disk, which then writes to the first serial port.
TEST_F(linux_vm, firmware_boots_the_guest_from_its_disk) {
  const char* sector = std::getenv("FERRY_BOOT_SECTOR");
  ASSERT_NE(sector, nullptr) << "FERRY_BOOT_SECTOR is not set (run via meson)";
  auto code = ferry::files::read(sector);
  ASSERT_TRUE(code) << sector << " is missing: install nasm and rebuild";
  ASSERT_EQ(code->size(), 512u);
  {
    std::fstream disk{disk_, std::ios::in | std::ios::out | std::ios::binary};
    disk.write(code->data(), 512);
  }
  qok("a", {"define",
            xml_file("fw", "<domain type='qemu'><name>fw</name><memory "
                           "unit='MiB'>32</memory><os><type arch='x86_64' "
                           "machine='pc'>hvm</type><boot dev='cdrom'/><boot "
                           "dev='hd'/></os><devices><disk type='file' "
                           "device='cdrom'><target dev='hdc' bus='ide'/>"
                           "</disk><disk type='file'><driver name='qemu' "
                           "type='raw'/><source file='" + disk_
                             + "'/><target dev='vda' bus='virtio'/></disk>"
                               "<serial type='pty'/></devices></domain>")});
  qok("a", {"start", "fw"});
  std::string log;
  for (int i = 0; i < 300; ++i) {
    auto text = ferry::files::read(console_log("a", "fw"));
    log = text ? *text : "";
    if (log.find("ferry-boot: booted from hd") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  EXPECT_NE(log.find("ferry-boot: booted from hd"), std::string::npos)
    << "SeaBIOS did not boot the disk (an empty CD-ROM comes first); "
       "console:\n" << log;
  qok("a", {"destroy", "fw"});
}

// The destination agent frozen mid-transfer (a host that stops answering:
// its link is as good as cut), then thawed: the source keeps the guest, the
// destination tears its half down, and exactly one QEMU runs it with its
// disk intact.
TEST_F(linux_vm, a_destination_that_stops_answering_leaves_one_guest) {
  qok("a", {"define", xml_file("frozen", vm_xml("frozen"))});
  qok("a", {"start", "frozen"});
  ASSERT_GT(wait_tick("a", "frozen", 3).last_tick, 3);
  auto uuid = uuid_of("a", "frozen");
  auto job = std::async(std::launch::async, [&] {
    return q("a", {"migrate", "--live", "--p2p", "--tunnelled",
                   "--bandwidth", "1", "frozen", uri("b")});
  });
  pid_t dest = -1;
  for (int i = 0; i < 200 && dest <= 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
    dest = qemu_pid("b", "frozen");
  }
  ASSERT_GT(dest, 0) << "the destination QEMU never started";
  std::this_thread::sleep_for(std::chrono::seconds{2});
  cl.at("b").freeze();
  auto r = job.get();
  cl.at("b").thaw();
  EXPECT_NE(r.rc, 0) << "the migration succeeded without its destination";
  std::cout << "[ linux    ] destination agent frozen: " << r.err;
  EXPECT_EQ(state("a", "frozen"), "running");
  // The thawed destination finds its coordinator gone and tears down.
  bool one = false;
  for (int i = 0; i < 150 && !one; ++i) {
    one = qemus_of(uuid) == 1;
    if (!one)
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  EXPECT_TRUE(one) << qemus_of(uuid) << " QEMUs run the guest";
  EXPECT_TRUE(wait_state("b", "frozen", "absent")) << state("b", "frozen");
  auto before = read_console(console_log("a", "frozen")).last_tick;
  auto later = wait_tick("a", "frozen", before + 2, 30);
  EXPECT_GT(later.last_tick, before + 2) << "the source guest stopped";
  EXPECT_EQ(later.boots.size(), 1u);
  auto [tick, boot] = read_disk_record(disk_);
  EXPECT_EQ(boot, later.boots.at(0));
  EXPECT_GE(tick, before);
  qok("a", {"destroy", "frozen"});
}
