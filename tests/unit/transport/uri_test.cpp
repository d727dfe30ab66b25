#include "transport/uri.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using namespace ferry;

TEST(agent_uri, parses_tls_with_port_and_driver) {
  auto u = parse_agent_uri("ferry+tls://node-a.example:7701/test");
  ASSERT_TRUE(u) << error_text(u.error());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->address.host, "node-a.example");
  EXPECT_EQ(u->address.port, 7701);
  EXPECT_EQ(u->driver, "test");
  EXPECT_EQ(u->to_string(), "ferry+tls://node-a.example:7701/test");
}

TEST(agent_uri, defaults_port_and_driver) {
  auto u = parse_agent_uri("ferry+tcp://10.0.0.2");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->address.port, default_agent_port);
  EXPECT_EQ(u->driver, "");
}

TEST(agent_uri, parses_ipv6) {
  auto u = parse_agent_uri("ferry+tls://[::1]:9000/qemu");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->address.host, "::1");
  EXPECT_EQ(u->address.to_string(), "[::1]:9000");
}

TEST(agent_uri, rejects_malformed_input_with_reasons) {
  struct bad_case {
    const char* uri;
    const char* reason;
  };
  bad_case cases[] = {
    {"", "expected ferry+tls"},
    {"http://host:1/test", "unknown scheme 'http'"},
    {"ferry+tls://", "missing host"},
    {"ferry+tls://host:0/test", "port must be"},
    {"ferry+tls://host:65536/test", "port must be"},
    {"ferry+tls://host:12ab/test", "port must be"},
    {"ferry+tls://ho st:1/test", "invalid character"},
    {"ferry+tls://host:1/TEST", "invalid driver name"},
    {"ferry+tls://host:1/test?x=1", "query"},
    {"ferry+tls://user@host:1/test", "user info"},
    {"ferry+tls://[::1:1/test", "missing ']'"},
    {"ferry+tls://host:1:2/test", "port must be"},
  };
  for (auto& c : cases) {
    auto u = parse_agent_uri(c.uri);
    ASSERT_FALSE(u) << c.uri;
    EXPECT_EQ(code_of(u.error()), errc::invalid_uri);
    auto text = error_text(u.error());
    EXPECT_NE(text.find(c.reason), std::string::npos)
      << c.uri << " -> " << text;
    EXPECT_EQ(text.find('\n'), std::string::npos);
  }
}

TEST(hypervisor_uri, parses_testhv) {
  auto u = parse_hypervisor_uri("testhv://127.0.0.1:7801");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->address.port, 7801);
  EXPECT_EQ(u->to_string(), "testhv://127.0.0.1:7801");
  EXPECT_FALSE(parse_hypervisor_uri("qemu://x:1"));
  EXPECT_FALSE(parse_hypervisor_uri("testhv://x"));
  EXPECT_FALSE(parse_hypervisor_uri("testhv://x:1/path"));
}

TEST(migrate_uri, port_is_optional) {
  auto u = parse_migrate_uri("tcp://192.168.1.2");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "192.168.1.2");
  EXPECT_EQ(u->port, 0);
  auto v = parse_migrate_uri("tcp://192.168.1.2:49152");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->port, 49152);
  EXPECT_FALSE(parse_migrate_uri("udp://x:1"));
  EXPECT_FALSE(parse_migrate_uri("tcp://"));
}

TEST(host_port, requires_port_unless_defaulted) {
  EXPECT_FALSE(parse_host_port("localhost"));
  auto hp = parse_host_port("localhost", 5);
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->port, 5);
}
