#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>

#include "transport/tls/openssl_handles.hpp"
#include "transport/tls/tls_stream_policy.hpp"

namespace ferry {

/// A BASP connection over an established TLS session: a CAF scribe whose
/// stream reads and writes through `tls_stream_policy`.
///
/// It is created only after the handshake has finished (by the connecting
/// middleman actor, or by `tls_doorman` once the handshake pool is done),
/// so it registers for write events only while it has bytes to send. It
/// owns the socket (closed by CAF's stream) and the session (freed by the
/// policy) and starts reading on the first `configure_read`, like CAF's.
class tls_scribe : public caf::io::scribe {
public:
  tls_scribe(caf::io::network::default_multiplexer& mpx,
             caf::io::network::native_socket fd, ssl_ptr ssl);

  ~tls_scribe() override;

  void configure_read(caf::io::receive_policy::config config) override;
  void ack_writes(bool enable) override;
  std::vector<char>& wr_buf() override;
  std::vector<char>& rd_buf() override;
  void graceful_shutdown() override;
  void flush() override;
  std::string addr() const override;
  uint16_t port() const override;
  void add_to_loop() override;
  void remove_from_loop() override;

  /// Empty write buffers above this capacity are released once the
  /// connection has sent no large message for `idle_release_after`.
  static constexpr size_t retained_write_buffer = 64 * 1024;
  static constexpr std::chrono::milliseconds idle_release_after{1000};

private:
  /// CAF's stream keeps two write buffers that it swaps and clears but never
  /// shrinks, so a burst of tunnelled migration chunks (window × chunk per
  /// pump, several pumps per link) would stay resident for the connection's
  /// life. This stream hands an empty oversized one back to the allocator,
  /// but only once the burst is over: released after every message, each
  /// 512 KiB pump chunk cost a fresh allocation (mmap, page faults, munmap)
  /// and the vector's growth copies on the multiplexer thread, which made
  /// the TLS tunnel 40% slower (docs/benchmarks.md). An idle connection
  /// still writes CAF's heartbeats, whose writes release it.
  class stream : public caf::io::network::stream_impl<tls_stream_policy> {
  public:
    stream(caf::io::network::default_multiplexer& mpx,
           caf::io::network::native_socket fd, ssl_ptr ssl, tls_scribe* owner);
    void handle_event(caf::io::network::operation op) override;
    /// Releases the offline write buffer if it is empty, oversized, and
    /// the connection has been quiet since its last large message.
    void release_idle_write_buffer();
    /// Notes a large message about to be written (from flush).
    void note_large_message();

  private:
    tls_scribe* owner_; ///< Kept alive while an event runs (see .cpp).
    std::chrono::steady_clock::time_point last_large_{};
  };

  bool launched_ = false;
  stream stream_;
};

} // namespace ferry
