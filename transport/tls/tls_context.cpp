#include "transport/tls/tls_context.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "transport/tls/openssl_handles.hpp"
#include "util/error.hpp"
#include "transport/tls/socket_bio.hpp"
#include "util/files.hpp"

namespace ferry {

namespace {

constexpr size_t max_pem_bytes = 1 << 20;

caf::error bad_file(const std::string& path, const std::string& what) {
  ERR_clear_error();
  return make_error(errc::config_error, "TLS file " + path + ": " + what);
}

bio_ptr memory_bio(const std::string& pem) {
  return bio_ptr{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
}

/// Every certificate in a PEM text, in order.
std::vector<x509_ptr> read_certs(const std::string& pem) {
  std::vector<x509_ptr> out;
  auto bio = memory_bio(pem);
  if (!bio)
    return out;
  for (;;) {
    x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    if (!cert)
      break;
    out.push_back(std::move(cert));
  }
  ERR_clear_error(); // The loop ends on a "no start line" error.
  return out;
}

/// Checks that `leaf` (with `chain`) verifies against `store` now.
caf::error verify_own(X509_STORE* store, X509* leaf, STACK_OF(X509) * chain,
                      const std::string& path) {
  x509_store_ctx_ptr vctx{X509_STORE_CTX_new()};
  if (!vctx || X509_STORE_CTX_init(vctx.get(), store, leaf, chain) != 1)
    return bad_file(path, "cannot set up the certificate check");
  if (X509_verify_cert(vctx.get()) != 1) {
    auto code = X509_STORE_CTX_get_error(vctx.get());
    return bad_file(path, std::string{"not valid under the CA: "}
                            + X509_verify_cert_error_string(code));
  }
  return caf::none;
}

/// The PEM files of `tls`, parsed: our chain, our key, the CAs we trust.
struct pem_material {
  std::vector<x509_ptr> certs;
  pkey_ptr key;
  std::vector<x509_ptr> cas;
};

caf::expected<pem_material> read_material(const tls_settings& tls) {
  auto cert_pem = files::read(tls.cert, max_pem_bytes);
  if (!cert_pem)
    return make_error(errc::config_error, error_text(cert_pem.error()));
  auto key_pem = files::read(tls.key, max_pem_bytes);
  if (!key_pem)
    return make_error(errc::config_error, error_text(key_pem.error()));
  auto ca_pem = files::read(tls.ca, max_pem_bytes);
  if (!ca_pem)
    return make_error(errc::config_error, error_text(ca_pem.error()));
  pem_material m;
  m.certs = read_certs(*cert_pem);
  if (m.certs.empty())
    return bad_file(tls.cert, "no PEM certificate in it");
  if (auto bio = memory_bio(*key_pem))
    m.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!m.key)
    return bad_file(tls.key, "no PEM private key in it");
  m.cas = read_certs(*ca_pem);
  if (m.cas.empty())
    return bad_file(tls.ca, "no PEM certificate in it");
  return m;
}

/// TLS 1.3 only, mutual, no tickets, resumption or renegotiation.
void set_policy(SSL_CTX* c) {
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE
                        | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read ahead stays off: a finished handshake must leave every later byte
  // in the kernel, so the multiplexer sees it as readable.
  SSL_CTX_set_read_ahead(c, 0);
}

/// Loads the CAs, our chain and key into `c` and checks our certificate.
caf::error use_material(SSL_CTX* c, const pem_material& m,
                        const tls_settings& tls) {
  auto* store = SSL_CTX_get_cert_store(c);
  for (auto& ca : m.cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1)
      return bad_file(tls.ca, "cannot use a CA certificate: "
                                + take_openssl_error());
    // Tells clients which CA we want their certificate from.
    SSL_CTX_add_client_CA(c, ca.get());
  }
  if (SSL_CTX_use_certificate(c, m.certs.front().get()) != 1)
    return bad_file(tls.cert, "cannot use the certificate: "
                                + take_openssl_error());
  for (size_t i = 1; i < m.certs.size(); ++i)
    if (SSL_CTX_add1_chain_cert(c, m.certs[i].get()) != 1)
      return bad_file(tls.cert, "cannot use a chain certificate: "
                                  + take_openssl_error());
  if (SSL_CTX_use_PrivateKey(c, m.key.get()) != 1
      || SSL_CTX_check_private_key(c) != 1)
    return bad_file(tls.key, "does not match the certificate " + tls.cert);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(c, &chain);
  return verify_own(store, m.certs.front().get(), chain, tls.cert);
}

} // namespace

tls_context::tls_context(tls_settings tls, ssl_ctx_ptr ctx)
  : settings_(std::move(tls)), ctx_(std::move(ctx)) {
}

caf::expected<ssl_ctx_ptr> tls_context::build(const tls_settings& tls) {
  if (auto err = tls.check_complete())
    return err;
  auto material = read_material(tls);
  if (!material)
    return material.error();
  ERR_clear_error();
  ssl_ctx_ptr ctx{SSL_CTX_new(TLS_method())};
  if (!ctx)
    return make_error(errc::internal, "cannot create a TLS context: "
                                        + take_openssl_error());
  set_policy(ctx.get());
  if (auto err = use_material(ctx.get(), *material, tls))
    return err;
  return ctx;
}

caf::expected<std::shared_ptr<tls_context>>
tls_context::load(const tls_settings& tls) {
  auto ctx = build(tls);
  if (!ctx)
    return ctx.error();
  return std::shared_ptr<tls_context>{new tls_context(tls, std::move(*ctx))};
}

caf::error tls_context::reload() {
  auto ctx = build(settings_);
  if (!ctx)
    return ctx.error();
  std::lock_guard<std::mutex> guard{mtx_};
  ctx_ = std::move(*ctx);
  return caf::none;
}

caf::expected<ssl_ptr> tls_context::new_session(int fd, bool server) const {
  ERR_clear_error();
  ssl_ptr ssl;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ssl.reset(SSL_new(ctx_.get()));
  }
  if (!ssl)
    return make_error(errc::internal, "cannot create a TLS session: "
                                        + take_openssl_error());
  auto* bio = socket_bio::make(fd);
  if (bio == nullptr)
    return make_error(errc::internal, "cannot create a TLS socket BIO: "
                                        + take_openssl_error());
  // One BIO for both directions: SSL_set_bio takes its single reference.
  SSL_set_bio(ssl.get(), bio, bio);
  if (server)
    SSL_set_accept_state(ssl.get());
  else
    SSL_set_connect_state(ssl.get());
  return ssl;
}

} // namespace ferry
