#pragma once

#include <cstdint>

namespace ferry::bench {

/// Copies `bytes` through one loopback TCP connection between two threads
/// (512 KiB writes, default socket buffers) and returns MiB/s: what the
/// kernel's loopback gives a single stream on this machine.
double raw_tcp_copy_mibps(uint64_t bytes);

/// Encrypts `bytes` with OpenSSL's EVP AES-256-GCM on one core, in 16 KiB
/// records (the TLS record size), and returns MiB/s.
double aes_256_gcm_mibps(uint64_t bytes);

} // namespace ferry::bench
