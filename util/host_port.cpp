#include "util/host_port.hpp"

namespace ferry {

std::string host_port::to_string() const {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

} // namespace ferry
