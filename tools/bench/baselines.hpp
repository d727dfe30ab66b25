#pragma once

#include <cstdint>

namespace ferry::bench {

/// Copies `bytes` through one loopback TCP connection between two threads
/// (512 KiB writes, default socket buffers) and returns MiB/s: what the
/// kernel's loopback gives a single stream on this machine.
double raw_tcp_copy_mibps(uint64_t bytes);

/// Relays `bytes` the way a tunnel between two agents must, with plain
/// threads and no actor system: a feeder writes into a socketpair, a relay
/// thread copies it into a loopback TCP connection, a second relay copies
/// from TCP into another socketpair, a drain reads it; 512 KiB buffers.
/// Returns MiB/s: the ceiling of any fd-to-fd tunnel on this machine (it
/// makes the same kernel copies as ferry's pumps, without their own).
double socket_relay_mibps(uint64_t bytes);

/// Encrypts `bytes` with OpenSSL's EVP AES-256-GCM on one core, in 16 KiB
/// records (the TLS record size), and returns MiB/s.
double aes_256_gcm_mibps(uint64_t bytes);

} // namespace ferry::bench
