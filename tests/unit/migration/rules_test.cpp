// --secure and --tls rules (migration/rules.hpp): which hop of
// each process must be encrypted, and the one-line errors naming it.

#include "migration/rules.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using namespace ferry;

namespace {

migration_flags flags_for(const std::string& mode, bool secure = true) {
  migration_flags f;
  f.secure = secure;
  f.dest_uri = "ferry+tls://10.0.0.2:7000/test";
  if (mode == "p2p" || mode == "tunnelled")
    f.p2p = true;
  if (mode == "tunnelled")
    f.tunnelled = true;
  if (mode == "direct") {
    f.direct = true;
    f.dest_uri = "testhv://10.0.0.2:7001";
  }
  return f;
}

/// Every hop encrypted.
data_path all_tls() {
  data_path p;
  p.agents_tls = true;
  p.native_tls = true;
  p.hypervisor_direct_tls = true;
  return p;
}

std::string text_of(const caf::error& err) {
  return err ? error_text(err) : std::string{};
}

} // namespace

TEST(check_secure, without_secure_nothing_is_refused) {
  for (auto mode : {"managed", "p2p", "tunnelled", "direct"})
    EXPECT_FALSE(check_secure(flags_for(mode, false), data_path{false}))
      << mode;
}

TEST(check_secure, every_process_passes_when_its_hop_is_tls) {
  for (auto mode : {"managed", "p2p", "tunnelled", "direct"})
    EXPECT_FALSE(check_secure(flags_for(mode), all_tls())) << mode;
}

TEST(check_secure, native_processes_need_a_tls_native_path) {
  auto path = all_tls();
  path.native_tls = false;
  path.hint = "add --tls, or use --p2p --tunnelled over ferry+tls";
  for (auto mode : {"managed", "p2p"}) {
    auto err = check_secure(flags_for(mode), path);
    ASSERT_TRUE(err) << mode;
    EXPECT_EQ(err.code(), static_cast<uint8_t>(errc::not_secure));
    auto text = text_of(err);
    EXPECT_NE(text.find("native hypervisor-to-hypervisor data path"),
              std::string::npos)
      << text;
    EXPECT_NE(text.find("(add --tls, or use --p2p --tunnelled"),
              std::string::npos)
      << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  }
  // The other hops do not matter to them.
  auto only_native = data_path{false, true, false};
  EXPECT_FALSE(check_secure(flags_for("managed"), only_native));
  EXPECT_FALSE(check_secure(flags_for("p2p"), only_native));
}

TEST(check_secure, direct_needs_a_tls_hypervisor_channel) {
  auto path = all_tls();
  path.hypervisor_direct_tls = false;
  path.hint = "the test hypervisors speak plain TCP";
  auto text = text_of(check_secure(flags_for("direct"), path));
  EXPECT_NE(text.find("hypervisor-to-hypervisor channel of direct migration"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("(the test hypervisors speak plain TCP)"),
            std::string::npos)
    << text;
  // Direct does not go through the agents or the native listener.
  EXPECT_FALSE(check_secure(flags_for("direct"), data_path{false, false, true}));
}

TEST(check_secure, tunnelled_needs_the_agents_link_and_nothing_else) {
  auto path = data_path{false, false, false, "a hypervisor hint"};
  auto text = text_of(check_secure(flags_for("tunnelled"), path));
  EXPECT_NE(text.find("agent-to-agent link (plain TCP) carrying the tunnel"),
            std::string::npos)
    << text;
  // The hint is about hypervisors: not the tunnel's problem.
  EXPECT_EQ(text.find("a hypervisor hint"), std::string::npos) << text;
  EXPECT_FALSE(check_secure(flags_for("tunnelled"),
                            data_path{true, false, false}));
}

TEST(validate_flags, tls_is_refused_with_tunnelled_only) {
  auto f = flags_for("tunnelled", false);
  f.tls = true;
  auto text = text_of(validate_flags(f));
  EXPECT_NE(text.find("--tls"), std::string::npos) << text;
  EXPECT_NE(text.find("--tunnelled"), std::string::npos) << text;
  for (auto mode : {"managed", "p2p", "direct"}) {
    auto g = flags_for(mode, false);
    g.tls = true;
    EXPECT_FALSE(validate_flags(g)) << mode << ": "
                                    << text_of(validate_flags(g));
  }
}

TEST(validate_flags, listen_address_is_for_native_migrations_only) {
  for (auto mode : {"managed", "p2p"}) {
    auto f = flags_for(mode, false);
    f.listen_address = "192.168.1.5";
    EXPECT_FALSE(validate_flags(f)) << mode << ": " << text_of(validate_flags(f));
  }
  for (auto mode : {"tunnelled", "direct"}) {
    auto f = flags_for(mode, false);
    f.listen_address = "192.168.1.5";
    auto text = text_of(validate_flags(f));
    EXPECT_NE(text.find("--listen-address is where"), std::string::npos)
      << mode << ": " << text;
  }
  auto f = flags_for("p2p", false);
  f.listen_address = "10.0.0.1:80";
  EXPECT_NE(text_of(validate_flags(f)).find("not a host name or address"),
            std::string::npos);
}
