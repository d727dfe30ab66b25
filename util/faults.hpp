#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

namespace ferry::faults {

/// What an armed fault point does when execution reaches it.
enum class action : uint8_t {
  fail = 0, ///< The operation returns an error ("injected fault at …").
  crash,    ///< The process kills itself with SIGKILL (a host crash).
  freeze,   ///< The process stops itself with SIGSTOP (a frozen host).
};

/// Parses `fail`, `crash` or `freeze`.
bool parse_action(const std::string& text, action& out);

/// Fault injection is off unless the agent runs with --fault-injection
/// (tests and scenarios only); arming is refused otherwise.
void enable(bool on);
bool enabled();

/// Every point the code defines (for errors and completion).
const std::vector<std::string>& points();

/// Arms `point` to act the next `count` times it is reached.
caf::error arm(const std::string& point, action act, uint32_t count);

/// Disarms everything.
void clear();

/// A fault point: returns an error if armed with `fail`; kills or stops
/// the process if armed with `crash` or `freeze`; otherwise nothing. Cheap
/// when nothing is armed.
caf::error hit(const char* point);

} // namespace ferry::faults
