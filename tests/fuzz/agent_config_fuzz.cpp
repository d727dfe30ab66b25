// libFuzzer target: the agent's INI configuration (config/agent_options.hpp)
// through the same parser and validation `ferryd --config FILE` uses.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "config/agent_options.hpp"

using namespace ferry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream ini{std::string{reinterpret_cast<const char*>(data), size}};
  static const std::vector<std::string> no_args;
  (void) parse_agent_options(no_args, ini);
  return 0;
}
