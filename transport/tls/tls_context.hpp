#pragma once

#include <memory>
#include <mutex>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "transport/tls/openssl_handles.hpp"
#include "transport/tls_settings.hpp"

namespace ferry {

/// The process's OpenSSL context for mutual TLS, built once from the
/// certificate, key and CA files.
///
/// Policy: TLS 1.3 only; the peer must present a certificate issued by the
/// CA (`SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT`) on both sides;
/// no session tickets or session cache (every connection proves itself);
/// partial writes and moving write buffers, as CAF's stream retries writes
/// from a buffer that may move. No host name check: ferry proves identities
/// itself on top (transport/identity.hpp).
///
/// The files are read once into memory. Deleting or rotating them later
/// affects nothing until `reload()`, which builds a new context and swaps it
/// in only if the new files are valid. Sessions already made keep the
/// context they were made from (OpenSSL counts references).
class tls_context {
public:
  /// Reads the files and builds the context. Errors name the file.
  static caf::expected<std::shared_ptr<tls_context>>
  load(const tls_settings& tls);

  /// Re-reads the same files. On any error the current context stays.
  caf::error reload();

  /// A new session on the connected socket `fd`, in the server (accepting)
  /// or client role. The session does not own `fd`.
  caf::expected<ssl_ptr> new_session(int fd, bool server) const;

  const tls_settings& settings() const {
    return settings_;
  }

  /// Builds a context from the files without installing it anywhere.
  static caf::expected<ssl_ctx_ptr> build(const tls_settings& tls);

private:
  tls_context(tls_settings tls, ssl_ctx_ptr ctx);

  tls_settings settings_;
  mutable std::mutex mtx_;
  ssl_ctx_ptr ctx_; ///< Guarded by mtx_.
};

} // namespace ferry
