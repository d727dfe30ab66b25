#include "tools/cli/commands.hpp"

namespace ferry::cli {

void add_migration_commands(std::vector<command>&) {
  // Migration verbs arrive with the migration protocol.
}

} // namespace ferry::cli
