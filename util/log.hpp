#pragma once

#include <sstream>
#include <string>

namespace ferry::log {

/// Severity of a log line; lines below the configured level are dropped.
enum class level { error = 0, warning, info, debug };

/// Parses `error|warning|info|debug`; returns false for anything else.
bool parse_level(const std::string& text, level& out);

/// Sets the process-wide threshold and the name printed on every line.
void setup(level threshold, std::string process_name);

/// True if lines of `lvl` are printed.
bool enabled(level lvl);

/// Writes one line: timestamp, process name, level, component, text. CAF's
/// own logging is compiled out of Debian's build (docs/caf-and-qemu.md), so
/// ferry logs for itself; one line per lifecycle event.
void write(level lvl, const char* component, const std::string& text);

/// Text from outside (a client's name, a type name from the wire) made safe
/// for one log line: control characters, backslashes, quotes and bytes
/// outside printable ASCII become `\xNN`, and more than `max` characters
/// end in "…", so that a peer can neither forge a line nor flood one.
std::string escape(const std::string& text, size_t max = 256);

} // namespace ferry::log

#define FERRY_LOG_IMPL(lvl, component, expr)                                   \
  do {                                                                         \
    if (::ferry::log::enabled(lvl)) {                                          \
      std::ostringstream ferry_log_os_;                                        \
      ferry_log_os_ << expr;                                                   \
      ::ferry::log::write(lvl, component, ferry_log_os_.str());                \
    }                                                                          \
  } while (false)

#define FERRY_ERROR(component, expr)                                           \
  FERRY_LOG_IMPL(::ferry::log::level::error, component, expr)
#define FERRY_WARN(component, expr)                                            \
  FERRY_LOG_IMPL(::ferry::log::level::warning, component, expr)
#define FERRY_INFO(component, expr)                                            \
  FERRY_LOG_IMPL(::ferry::log::level::info, component, expr)
#define FERRY_DEBUG(component, expr)                                           \
  FERRY_LOG_IMPL(::ferry::log::level::debug, component, expr)
