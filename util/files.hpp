#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace ferry::files {

/// What a write must survive before it returns.
enum class durability {
  /// A crash of the host (power loss): fsync of the file and of its
  /// directory. About 2 ms per write on this project's machines.
  host_crash,
  /// A crash of the process only: the kernel's page cache outlives it, so
  /// no fsync. For records a host crash makes moot anyway (the guests the
  /// record is about die with the host).
  process_crash,
};

/// Writes `content` to `path` so that a crash leaves either the old or the new
/// file, never a torn one: temp file in the same directory, rename; with
/// `host_crash`, fsync of the file before the rename and of the directory
/// after it.
caf::error write_atomic(const std::string& path, const std::string& content,
                        unsigned mode = 0644,
                        durability level = durability::host_crash);

/// Reads a whole file; errors name the path.
caf::expected<std::string> read(const std::string& path,
                                size_t max_bytes = 16 * 1024 * 1024);

/// Removes `path` (no error if it did not exist); with `host_crash` syncs
/// its directory.
caf::error remove(const std::string& path,
                  durability level = durability::host_crash);

/// Creates a directory and its parents with `mode`.
caf::error make_dirs(const std::string& path, unsigned mode = 0700);

/// Names of regular files in `dir` ending in `suffix`, sorted.
std::vector<std::string> list(const std::string& dir,
                              const std::string& suffix);

} // namespace ferry::files
