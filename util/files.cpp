#include "util/files.hpp"
#include "util/fd_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.hpp"

namespace fs = std::filesystem;

namespace ferry::files {

namespace {

caf::error sys_error(const std::string& what, const std::string& path) {
  return make_error(errc::io_error,
                    what + " " + path + ": " + std::strerror(errno));
}

void sync_dir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

} // namespace

caf::error write_atomic(const std::string& path, const std::string& content,
                        unsigned mode, durability level) {
  bool sync = level == durability::host_crash;
  auto dir = fs::path(path).parent_path().string();
  auto tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return sys_error("cannot create", tmp);
  if (!write_all(fd, content.data(), content.size())
      || (sync && ::fsync(fd) != 0)) {
    auto err = sys_error("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = sys_error("cannot rename to", path);
    ::unlink(tmp.c_str());
    return err;
  }
  if (sync)
    sync_dir(dir);
  return caf::none;
}

caf::expected<std::string> read(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sys_error("cannot open", path);
  std::string out;
  char buf[65536];
  for (;;) {
    auto n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto err = sys_error("cannot read", path);
      ::close(fd);
      return err;
    }
    if (n == 0)
      break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return make_error(errc::limit_exceeded,
                        path + " is larger than " + std::to_string(max_bytes)
                          + " bytes");
    }
  }
  ::close(fd);
  return out;
}

caf::error remove(const std::string& path, durability level) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return sys_error("cannot remove", path);
  if (level == durability::host_crash)
    sync_dir(fs::path(path).parent_path().string());
  return caf::none;
}

caf::error make_dirs(const std::string& path, unsigned mode) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    return make_error(errc::io_error,
                      "cannot create directory " + path + ": " + ec.message());
  ::chmod(path.c_str(), mode);
  return caf::none;
}

std::vector<std::string> list(const std::string& dir,
                              const std::string& suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file())
      continue;
    auto name = entry.path().filename().string();
    if (name.size() >= suffix.size()
        && name.compare(name.size() - suffix.size(), suffix.size(), suffix)
             == 0)
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace ferry::files
