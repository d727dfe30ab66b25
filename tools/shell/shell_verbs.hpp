#pragma once

#include "tools/cli/cli_context.hpp"
#include "tools/lang/interpreter.hpp"

namespace ferry::shell {

/// Registers the shell's verbs on `interp`: every CLI verb, plus `connect`,
/// `actors` (the agent's sessions, drivers, jobs and pumps), `jobs`,
/// `watch DOM` (follow a job as it runs) and `help`.
void add_verbs(lang::interpreter& interp, cli::context& ctx);

} // namespace ferry::shell
