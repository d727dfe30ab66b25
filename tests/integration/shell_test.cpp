// ferry-shell: scriptable from stdin, CLI verbs plus introspection.

#include "tests/integration/fixture.hpp"

using namespace ferry;
using namespace ferry::test;

class shell : public cluster_test {};

TEST_F(shell, piped_list_prints_the_domains) {
  start_node("a");
  ok("a", {"define", xml_file("sh1", test_domain_xml("sh1", 16))});
  ok("a", {"start", "sh1"});
  auto r = cl.tool("ferry-shell", {"-c", cl.at("a").uri()}, "list\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("sh1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("running"), std::string::npos) << r.out;
}

TEST_F(shell, introspection_shows_sessions_drivers_and_jobs) {
  start_node("a");
  auto r = cl.tool("ferry-shell", {"-c", cl.at("a").uri()},
                   "actors\nhelp watch\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("agent a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sessions (1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hypervisor testhv://"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("jobs (0)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("follow DOM's migration job"), std::string::npos);
}

TEST_F(shell, errors_are_reported_and_the_shell_goes_on) {
  start_node("a");
  auto r = cl.tool("ferry-shell", {"-c", cl.at("a").uri()},
                   "bogus\nstart nope\nnodeinfo\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("error: unknown command 'bogus'"), std::string::npos);
  EXPECT_NE(r.err.find("error: domain 'nope' not found"), std::string::npos);
  EXPECT_NE(r.out.find("Agent:          a"), std::string::npos) << r.out;
}

TEST_F(shell, introspection_needs_the_admin_role) {
  harness::node_options opts;
  opts.extra_args = {"--acl", "admin=admin", "--acl", "viewer=read"};
  start_node("a", opts);
  auto r = cl.tool("ferry-shell", {"-c", cl.at("a").uri()}, "actors\nlist\n",
                   "viewer");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("may not inspect"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Name"), std::string::npos) << r.out;
}
