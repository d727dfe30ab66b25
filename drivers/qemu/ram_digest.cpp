#include "drivers/qemu/ram_digest.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "util/error.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"

namespace ferry {

namespace {

/// pmemsave writes at roughly disk-cache speed; allow slow disks.
int pmemsave_timeout_ms(uint64_t bytes) {
  return 30000 + static_cast<int>(bytes / (16 * 1024 * 1024) * 1000);
}

/// Feeds the file at `path` into `ctx`; returns its size or an error.
caf::expected<uint64_t> hash_file(EVP_MD_CTX* ctx, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(errc::io_error, "cannot open RAM dump " + path + ": "
                                        + std::strerror(errno));
  std::unique_ptr<char[]> buf{new char[1 << 20]};
  uint64_t total = 0;
  for (;;) {
    auto n = ::read(fd, buf.get(), 1 << 20);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      auto err = make_error(errc::io_error, "cannot read RAM dump " + path
                                              + ": " + std::strerror(errno));
      ::close(fd);
      return err;
    }
    if (n == 0)
      break;
    EVP_DigestUpdate(ctx, buf.get(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return total;
}

} // namespace

std::vector<std::pair<uint64_t, uint64_t>>
ram_digest::ranges(uint64_t ram_bytes) {
  // QEMU's pc machine (pc_piix.c): below 3.5 GiB all RAM sits at 0;
  // otherwise 3 GiB stay low (gigabyte alignment) and the rest moves above
  // 4 GiB.
  constexpr uint64_t max_low = 0xe0000000;
  constexpr uint64_t aligned_low = 0xc0000000;
  constexpr uint64_t high_start = uint64_t{1} << 32;
  if (ram_bytes < max_low)
    return {{0, ram_bytes}};
  return {{0, aligned_low}, {high_start, ram_bytes - aligned_low}};
}

caf::expected<domain_digest> ram_digest::take(qemu_process& proc,
                                              bool running) {
  auto& def = proc.definition();
  auto parts = ranges(def.memory_bytes);
  std::vector<std::string> files;
  auto cleanup = [&] {
    for (auto& f : files)
      ::unlink(f.c_str());
  };
  if (running)
    if (auto res = proc.call("stop"); !res)
      return res.error();
  caf::error dump_err;
  for (size_t i = 0; i < parts.size() && !dump_err; ++i) {
    files.push_back(proc.run_dir() + "/" + def.uuid + ".ram" + std::to_string(i));
    auto res = proc.call("pmemsave",
                         {{"val", parts[i].first},
                          {"size", parts[i].second},
                          {"filename", files.back()}},
                         pmemsave_timeout_ms(parts[i].second));
    if (!res)
      dump_err = res.error();
  }
  if (running)
    if (auto res = proc.call("cont"); !res)
      FERRY_ERROR("qemu", "cannot resume " << def.name << " after the "
                                              "digest: "
                                           << error_text(res.error()));
  if (dump_err) {
    cleanup();
    return dump_err;
  }
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx{EVP_MD_CTX_new(),
                                                         EVP_MD_CTX_free};
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (size_t i = 0; i < files.size(); ++i) {
    auto size = hash_file(ctx.get(), files[i]);
    if (!size || *size != parts[i].second) {
      cleanup();
      if (!size)
        return size.error();
      return make_error(errc::hypervisor_error,
                        "QEMU of domain '" + def.name + "' dumped "
                          + std::to_string(*size) + " of "
                          + std::to_string(parts[i].second) + " RAM bytes");
    }
  }
  cleanup();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &md_len);
  domain_digest out;
  out.sha256 = crypto::to_hex(md, md_len);
  out.exact = !running;
  return out;
}

} // namespace ferry
