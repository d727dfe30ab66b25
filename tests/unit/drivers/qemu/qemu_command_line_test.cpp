#include "drivers/qemu/qemu_command_line.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "drivers/qemu/test_guest.hpp"

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
  EXPECT_TRUE(has(argv, "-machine", "pc,accel=tcg"));
  EXPECT_TRUE(has(argv, "-m", "256M"));
  EXPECT_TRUE(has(argv, "-smp", "2"));
  EXPECT_TRUE(has(argv, "-display", "none"));
  EXPECT_TRUE(has(argv, "-uuid", "c7a5fdbd-edaf-9455-926a-d65c16db1809"));
  EXPECT_TRUE(has(argv, "-qmp", "unix:/run/x.qmp,server=on,wait=off"));
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
