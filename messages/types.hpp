#pragma once

namespace caf {
class actor_system_config;
} // namespace caf

namespace ferry {

/// Registers every ferry message type and the error category. Every process
/// (agent, CLI, shell, tests) calls this once on its config: CAF compares
/// the type sets on connect.
void add_message_types(caf::actor_system_config& cfg);

} // namespace ferry
