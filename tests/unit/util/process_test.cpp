#include "util/process.hpp"

#include <cstdlib>

#include <gtest/gtest.h>
#include <sys/wait.h>

namespace ferry {
namespace {

/// Runs `sh -c script` with `env` and returns its exit code (-1 if it
/// could not run or did not end within 10 s).
int run_shell(const std::string& script, std::vector<std::string> env) {
  process::spawn_request req;
  req.argv = {"/bin/sh", "-c", script};
  req.env = std::move(env);
  std::string why;
  auto pid = process::spawn(req, why);
  if (pid < 0)
    return -1;
  int status = 0;
  if (!process::wait_exit(pid, 10000, &status))
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(process, extra_environment_entries_replace_the_parents) {
  ::setenv("FERRY_PROCESS_TEST", "parent", 1);
  ::setenv("FERRY_PROCESS_TEST_KEPT", "kept", 1);
  // The environment block the child was started with (the shell's own
  // variables would hide a duplicate: C's getenv takes the first entry of
  // a name, a shell the last) holds exactly one entry of the name, with the
  // request's value; the parent's other entries stay, and a name that is a
  // prefix of another is not mistaken for it.
  EXPECT_EQ(run_shell("e=$(tr '\\0' '\\n' < /proc/$$/environ);"
                      " n=$(printf '%s\\n' \"$e\" | grep -c '^FERRY_PROCESS_TEST=');"
                      " v=$(printf '%s\\n' \"$e\" | grep '^FERRY_PROCESS_TEST=');"
                      " k=$(printf '%s\\n' \"$e\""
                      " | grep -c '^FERRY_PROCESS_TEST_KEPT=kept$');"
                      " test \"$n\" = 1 && test \"$v\" = FERRY_PROCESS_TEST=child"
                      " && test \"$k\" = 1",
                      {"FERRY_PROCESS_TEST=child"}),
            0);
  EXPECT_EQ(run_shell("test \"$FERRY_PROCESS_TEST\" = parent", {}), 0);
  ::unsetenv("FERRY_PROCESS_TEST");
  ::unsetenv("FERRY_PROCESS_TEST_KEPT");
}

} // namespace
} // namespace ferry
