#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/io/scribe.hpp>

#include "transport/door/basp_guard.hpp"
#include "transport/door/door_registry.hpp"

namespace ferry {

/// A BASP connection of ferry's transport: a CAF scribe whose stream reads
/// and writes through `Policy` (TLS, or plain TCP) and whose every message,
/// in and out, passes its `basp_guard` first.
///
///     socket ─Policy─> header (32 B) ──guard──> close / drop / read payload
///                          payload ──guard──> close / drop / deliver
///                                                         └─> BASP broker
///
/// The guard, not CAF's broker, decides how much is read next: a header
/// announcing more than the guard allows closes the connection before any
/// buffer grows. It is created only once a connection is established (after
/// the TLS handshake), registers with the door registry's connection table,
/// owns the socket (closed by CAF's stream) and starts reading on the first
/// `configure_read`, like CAF's scribe.
template <class Policy>
class basp_scribe : public caf::io::scribe {
public:
  /// `accepted`: the peer connected to us. `policy` reads and writes the
  /// socket (an established TLS session, or plain TCP).
  basp_scribe(caf::io::network::default_multiplexer& mpx,
              caf::io::network::native_socket fd,
              std::shared_ptr<door_registry> doors, bool accepted,
              Policy policy);

  ~basp_scribe() override;

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
  bool consume(caf::execution_unit* ctx, const void* buf,
               size_t num_bytes) override;

  /// Closes the connection now, with a warning naming `why` (the guard's
  /// verdict, or the registry making room). Multiplexer thread only.
  void force_close(caf::execution_unit* ctx, const std::string& why);

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
  class stream : public caf::io::network::stream_impl<Policy> {
  public:
    stream(caf::io::network::default_multiplexer& mpx,
           caf::io::network::native_socket fd, basp_scribe* owner,
           Policy policy);
    void handle_event(caf::io::network::operation op) override;
    /// Releases the offline write buffer if it is empty, oversized, and
    /// the connection has been quiet since its last large message.
    void release_idle_write_buffer();
    /// Notes a large message about to be written (from flush).
    void note_large_message();

  private:
    basp_scribe* owner_; ///< Kept alive while an event runs (see .cpp).
    std::chrono::steady_clock::time_point last_large_{};
  };

  /// Shows the guard what was appended to the write buffer since the last
  /// call (CAF appends whole messages, then flushes).
  void inspect_outgoing();
  void read_exactly(size_t n);
  bool deliver(caf::execution_unit* ctx, size_t payload_len);
  void forget_connection();

  std::shared_ptr<door_registry> doors_;
  connection_ref conn_;
  std::unique_ptr<basp_guard> guard_;
  /// Lets the registry's close callback find out whether we still exist.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool launched_ = false;
  bool reading_payload_ = false;
  bool feeding_header_ = false; ///< rd_buf() is `header_` for CAF now.
  std::vector<char> header_;
  size_t out_seen_ = 0; ///< Bytes of the write buffer the guard has seen.
  stream stream_;
};

} // namespace ferry
