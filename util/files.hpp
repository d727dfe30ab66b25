#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace ferry::files {

/// Writes `content` to `path` so that a crash leaves either the old or the new
/// file, never a torn one: temp file in the same directory, fsync, rename,
/// fsync of the directory.
caf::error write_atomic(const std::string& path, const std::string& content,
                        unsigned mode = 0644);

/// Reads a whole file; errors name the path.
caf::expected<std::string> read(const std::string& path,
                                size_t max_bytes = 16 * 1024 * 1024);

/// Removes `path` (no error if it did not exist) and syncs its directory.
caf::error remove(const std::string& path);

/// Creates a directory and its parents with `mode`.
caf::error make_dirs(const std::string& path, unsigned mode = 0700);

/// Names of regular files in `dir` ending in `suffix`, sorted.
std::vector<std::string> list(const std::string& dir,
                              const std::string& suffix);

} // namespace ferry::files
