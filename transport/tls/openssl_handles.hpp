#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ferry {

/// Calls OpenSSL's `Free` (`SSL_free`, `X509_free`, …) on an owned object.
template <auto Free>
struct openssl_free {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

/// An OpenSSL object owned by a `unique_ptr` that frees it with `Free`.
template <class T, auto Free>
using openssl_ptr = std::unique_ptr<T, openssl_free<Free>>;

/// One TLS session, owned.
using ssl_ptr = openssl_ptr<SSL, &SSL_free>;

/// One reference to a TLS context (sessions hold their own).
using ssl_ctx_ptr = openssl_ptr<SSL_CTX, &SSL_CTX_free>;

using bio_ptr = openssl_ptr<BIO, &BIO_free>;
using x509_ptr = openssl_ptr<X509, &X509_free>;
using pkey_ptr = openssl_ptr<EVP_PKEY, &EVP_PKEY_free>;
using x509_store_ptr = openssl_ptr<X509_STORE, &X509_STORE_free>;
using x509_store_ctx_ptr = openssl_ptr<X509_STORE_CTX, &X509_STORE_CTX_free>;
using md_ctx_ptr = openssl_ptr<EVP_MD_CTX, &EVP_MD_CTX_free>;

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
