#include "drivers/qemu/test_guest.hpp"

#include <fstream>
#include <iterator>

namespace ferry {

bool test_guest::is_test_guest(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  // Multiboot wants its header in the first 8 KiB; the signature follows it.
  std::string head(8192, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head.find(signature) != std::string::npos;
}

} // namespace ferry
