// libFuzzer target: every URI parser (transport/uri.hpp) on arbitrary text.
// A URI that parses must print back to one that parses to the same value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "transport/uri.hpp"

using namespace ferry;

namespace {

bool same(const host_port& a, const host_port& b) {
  return a.host == b.host && a.port == b.port;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  if (auto hp = parse_host_port(text, default_agent_port)) {
    auto again = parse_host_port(hp->to_string());
    if (!again || !same(*again, *hp))
      std::abort();
  }
  (void) parse_host_port(text);
  if (auto uri = parse_agent_uri(text)) {
    auto again = parse_agent_uri(uri->to_string());
    if (!again || again->tls != uri->tls || !same(again->address, uri->address)
        || again->driver != uri->driver)
      std::abort();
  }
  if (auto uri = parse_hypervisor_uri(text)) {
    auto again = parse_hypervisor_uri(uri->to_string());
    if (!again || !same(again->address, uri->address))
      std::abort();
  }
  (void) parse_migrate_uri(text);
  return 0;
}
