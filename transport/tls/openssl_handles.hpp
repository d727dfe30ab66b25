#pragma once

#include <memory>
#include <string>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ferry {

/// Frees an `SSL` session.
struct ssl_deleter {
  void operator()(SSL* p) const {
    SSL_free(p);
  }
};

/// Drops one reference to an `SSL_CTX` (sessions hold their own).
struct ssl_ctx_deleter {
  void operator()(SSL_CTX* p) const {
    SSL_CTX_free(p);
  }
};

/// One TLS session, owned.
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

/// One reference to a TLS context.
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;

/// Text of the oldest error in this thread's OpenSSL error queue, or
/// `fallback` if the queue is empty. Clears the queue.
inline std::string take_openssl_error(const char* fallback = "unknown error") {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return fallback;
  if (const char* reason = ERR_reason_error_string(code))
    return reason;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

} // namespace ferry
