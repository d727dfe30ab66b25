#include "drivers/qemu/test_guest.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

namespace ferry {

uint32_t test_guest::pages_per_second(double mibps) {
  if (!(mibps > 0))
    return 0;
  auto pages = std::ceil(mibps * 256.0);
  return static_cast<uint32_t>(
    std::min(pages, static_cast<double>(max_pages_per_second)));
}

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
