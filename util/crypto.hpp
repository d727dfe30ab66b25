#pragma once

#include <cstddef>
#include <string>

namespace ferry::crypto {

/// Lowercase hex of `len` bytes.
std::string to_hex(const void* data, size_t len);
inline std::string to_hex(const std::string& bytes) {
  return to_hex(bytes.data(), bytes.size());
}

/// SHA-256 (OpenSSL EVP) of a buffer, as 32 raw bytes.
std::string sha256(const void* data, size_t len);

/// `n` bytes from OpenSSL's CSPRNG.
std::string random_bytes(size_t n);

/// A random RFC 4122 version-4 UUID in its usual text form.
std::string random_uuid();

/// HMAC-SHA256 of `msg` under `key`, as 32 raw bytes.
std::string hmac_sha256(const std::string& key, const std::string& msg);

/// Constant-time comparison of two equal-length secrets.
bool equal_secret(const std::string& a, const std::string& b);

} // namespace ferry::crypto
