#include "config/agent_options.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "util/error.hpp"

using namespace ferry;

namespace {

caf::expected<agent_command> parse(std::vector<std::string> args) {
  return parse_agent_options(args);
}

std::string error_of(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  if (r)
    return "";
  return error_text(r.error());
}

} // namespace

TEST(agent_options, minimal_insecure) {
  auto r = parse({"--state-dir", "/tmp/x", "--insecure-tcp", "--name", "a"});
  ASSERT_TRUE(r) << error_text(r.error());
  auto& s = r->settings;
  EXPECT_EQ(s.name, "a");
  EXPECT_TRUE(s.insecure_tcp);
  EXPECT_EQ(s.listen.port, 7700);
  EXPECT_EQ(s.drivers, std::vector<std::string>{"test"});
  EXPECT_EQ(s.uri(), "ferry+tcp://127.0.0.1:7700");
}

TEST(agent_options, refuses_start_without_tls_or_insecure) {
  auto err = error_of({"--state-dir", "/tmp/x"});
  EXPECT_NE(err.find("no TLS settings"), std::string::npos) << err;
}

TEST(agent_options, refuses_partial_tls) {
  auto err = error_of({"--state-dir", "/tmp/x", "--tls-cert", "a.pem"});
  EXPECT_NE(err.find("missing --tls-key, --tls-ca"), std::string::npos) << err;
}

TEST(agent_options, refuses_tls_and_insecure_together) {
  auto err = error_of({"--state-dir", "/tmp/x", "--tls-cert", "a", "--tls-key",
                       "b", "--tls-ca", "c", "--insecure-tcp"});
  EXPECT_NE(err.find("exclude"), std::string::npos) << err;
}

TEST(agent_options, rejects_bad_values) {
  EXPECT_NE(error_of({"--insecure-tcp"}).find("--state-dir"),
            std::string::npos);
  EXPECT_NE(error_of({"--state-dir", "x", "--insecure-tcp", "--driver", "xen"})
              .find("unknown driver 'xen'"),
            std::string::npos);
  EXPECT_NE(error_of({"--state-dir", "x", "--insecure-tcp", "--listen",
                      "host"})
              .find("--listen"),
            std::string::npos);
  EXPECT_NE(error_of({"--state-dir", "x", "--insecure-tcp", "--bogus"})
              .find("bogus"),
            std::string::npos);
  EXPECT_NE(error_of({"--state-dir", "x", "--insecure-tcp", "--log-level",
                      "loud"})
              .find("--log-level"),
            std::string::npos);
  EXPECT_NE(error_of({"--state-dir", "x", "--insecure-tcp", "--acl",
                      "x=root"})
              .find("unknown role 'root'"),
            std::string::npos);
}

TEST(agent_options, reads_config_file_and_command_line_wins) {
  auto path = testing::TempDir() + "/ferryd-test.ini";
  {
    std::ofstream out{path};
    out << "name = from-file\nstate-dir = /tmp/file-state\ninsecure-tcp = "
           "true\nlisten = 127.0.0.1:7800\ndriver = test\ndriver = qemu\n"
           "acl = ops-*=admin,read\nacl = agent-*=peer\n";
  }
  auto r = parse({"--config", path, "--name", "from-cli"});
  ASSERT_TRUE(r) << error_text(r.error());
  auto& s = r->settings;
  EXPECT_EQ(s.name, "from-cli");
  EXPECT_EQ(s.state_dir, "/tmp/file-state");
  EXPECT_TRUE(s.insecure_tcp);
  EXPECT_EQ(s.listen.port, 7800);
  EXPECT_EQ(s.drivers, (std::vector<std::string>{"test", "qemu"}));
  ASSERT_EQ(s.acl.size(), 2u);
  EXPECT_EQ(s.acl[0].pattern, "ops-*");
  EXPECT_EQ(s.acl[0].roles, (std::vector<std::string>{"admin", "read"}));
  std::remove(path.c_str());
}

TEST(agent_options, reads_config_text_from_a_stream) {
  std::istringstream ini{"state-dir = /tmp/s\ninsecure-tcp = 1\n"
                         "max-jobs = 3\nacl = ops=admin\n"};
  auto r = parse_agent_options({"--name", "cli"}, ini);
  ASSERT_TRUE(r) << error_text(r.error());
  EXPECT_EQ(r->settings.name, "cli");
  EXPECT_EQ(r->settings.state_dir, "/tmp/s");
  EXPECT_EQ(r->settings.limits.max_jobs, 3u);
  ASSERT_EQ(r->settings.acl.size(), 1u);
  std::istringstream bad{"state-dir = /tmp/s\nno-such-option = 1\n"};
  EXPECT_FALSE(parse_agent_options({}, bad));
}

// Found by fuzzing: Boost's what() looped forever when the text it
// inserts into its message contained the placeholder it replaces.
TEST(agent_options, placeholders_in_input_do_not_hang_the_error_message) {
  auto err = error_of({"--state-dir", "/x", "--insecure-tcp", "--max-jobs",
                       "%value%"});
  EXPECT_NE(err.find("?value?"), std::string::npos) << err;
  err = error_of({"--%canonical_option%"});
  EXPECT_NE(err.find("?canonical_option?"), std::string::npos) << err;
  std::istringstream ini{"state-dir = /x\n%canonical_option% = 1\n"};
  auto r = parse_agent_options({}, ini);
  ASSERT_FALSE(r);
  EXPECT_NE(error_text(r.error()).find("?canonical_option?"), std::string::npos)
    << error_text(r.error());
}

TEST(agent_options, missing_config_file_is_an_error) {
  auto err = error_of({"--config", "/nonexistent/ferryd.ini"});
  EXPECT_NE(err.find("cannot read config file"), std::string::npos) << err;
}

TEST(agent_options, help_exits_early) {
  auto r = parse({"--help"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->exit_early);
  EXPECT_NE(r->text.find("--state-dir"), std::string::npos);
}

TEST(agent_options, migration_address_and_host_are_addresses_without_port) {
  auto r = parse({"--state-dir", "/tmp/x", "--insecure-tcp", "--listen",
                  "0.0.0.0:7700", "--migration-address", "[::]",
                  "--migration-host", "b.example.net"});
  ASSERT_TRUE(r) << error_text(r.error());
  EXPECT_EQ(r->settings.migration_address, "::");
  EXPECT_EQ(r->settings.migration_host, "b.example.net");
  for (auto* bad : {"10.0.0.1:5000", "::1", "", "a b", "[::1"}) {
    auto err = error_of({"--state-dir", "/tmp/x", "--insecure-tcp",
                         "--migration-host", bad});
    EXPECT_NE(err.find("--migration-host: '"), std::string::npos)
      << bad << " -> " << err;
    EXPECT_NE(err.find("is not a host name or address"), std::string::npos)
      << bad << " -> " << err;
  }
}
