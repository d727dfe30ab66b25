#include "transport/identity.hpp"

#include <optional>

#include <cstdio>
#include <ctime>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "transport/tls/openssl_handles.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ferry {

namespace {

std::string openssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

x509_ptr parse_cert(const std::string& pem) {
  bio_ptr bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio)
    return nullptr;
  return x509_ptr{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
}

std::string common_name(X509* cert) {
  auto* subject = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx < 0)
    return {};
  auto* entry = X509_NAME_get_entry(subject, idx);
  auto* data = X509_NAME_ENTRY_get_data(entry);
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0)
    return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

/// The digest to sign with: none for the EdDSA keys, which hash the
/// message themselves (and refuse a digest), SHA-256 for RSA and ECDSA.
const EVP_MD* digest_for(EVP_PKEY* key) {
  auto type = EVP_PKEY_id(key);
  return type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448 ? nullptr
                                                            : EVP_sha256();
}

caf::error config_error(const std::string& text) {
  return make_error(errc::config_error, text);
}

} // namespace

struct identity::impl {
  x509_ptr cert;
  pkey_ptr key;
  x509_store_ptr store;
  std::string name;
  std::string cert_pem;

  /// `use` empty: only the chain (our own certificate at load, which
  /// serves both ways and is checked for both by `load`).
  caf::expected<std::string> verify_chain(X509* peer,
                                          std::optional<cert_use> use) const {
    std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx{
      X509_STORE_CTX_new(), X509_STORE_CTX_free};
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), peer, nullptr) != 1)
      return make_error(errc::internal, "cannot set up certificate check");
    if (use)
      X509_STORE_CTX_set_purpose(ctx.get(), *use == cert_use::client
                                              ? X509_PURPOSE_SSL_CLIENT
                                              : X509_PURPOSE_SSL_SERVER);
    if (X509_verify_cert(ctx.get()) != 1) {
      auto code = X509_STORE_CTX_get_error(ctx.get());
      ERR_clear_error();
      std::string why = X509_verify_cert_error_string(code);
      if (code == X509_V_ERR_INVALID_PURPOSE && use)
        why = *use == cert_use::client
                ? "it is not for clients (its extended key usage lacks "
                  "clientAuth)"
                : "it is not for agents (its extended key usage lacks "
                  "serverAuth)";
      return make_error(errc::auth_failed,
                        "peer certificate rejected: " + why);
    }
    auto cn = common_name(peer);
    if (cn.empty())
      return make_error(errc::auth_failed,
                        "peer certificate has no common name");
    return cn;
  }
};

identity::identity(std::shared_ptr<const impl> p) : impl_(std::move(p)) {
}

identity::~identity() = default;

std::shared_ptr<const identity::impl> identity::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return impl_;
}

void identity::adopt(const identity& fresh) {
  auto next = fresh.current();
  std::lock_guard<std::mutex> guard{mtx_};
  impl_ = std::move(next);
}

std::string identity::name() const {
  return current()->name;
}

std::string identity::cert_pem() const {
  return current()->cert_pem;
}

caf::expected<std::shared_ptr<identity>>
identity::load(const tls_settings& tls) {
  if (auto err = tls.check_complete())
    return err;
  auto cert_pem = files::read(tls.cert, 1 << 20);
  if (!cert_pem)
    return config_error("TLS certificate: " + error_text(cert_pem.error()));
  auto key_pem = files::read(tls.key, 1 << 20);
  if (!key_pem)
    return config_error("TLS key: " + error_text(key_pem.error()));
  auto ca_pem = files::read(tls.ca, 1 << 20);
  if (!ca_pem)
    return config_error("TLS CA: " + error_text(ca_pem.error()));
  auto p = std::make_unique<impl>();
  p->cert = parse_cert(*cert_pem);
  if (!p->cert)
    return config_error(tls.cert + " is not a PEM certificate");
  {
    bio_ptr bio{BIO_new_mem_buf(
      key_pem->data(), static_cast<int>(key_pem->size()))};
    p->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  }
  if (!p->key)
    return config_error(tls.key + " is not a PEM private key (or needs a "
                                  "passphrase, which ferry does not support)");
  if (X509_check_private_key(p->cert.get(), p->key.get()) != 1) {
    ERR_clear_error();
    return config_error(tls.key + " does not match the certificate "
                        + tls.cert);
  }
  p->store.reset(X509_STORE_new());
  {
    bio_ptr bio{
      BIO_new_mem_buf(ca_pem->data(), static_cast<int>(ca_pem->size()))};
    int added = 0;
    while (auto* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(p->store.get(), ca);
      X509_free(ca);
      ++added;
    }
    ERR_clear_error();
    if (added == 0)
      return config_error(tls.ca + " holds no PEM CA certificate");
  }
  auto own = p->verify_chain(p->cert.get(), std::nullopt);
  if (!own)
    return config_error(tls.cert + " is not valid under CA " + tls.ca + ": "
                        + error_text(own.error()));
  p->name = *own;
  p->cert_pem = *cert_pem;
  return std::shared_ptr<identity>{new identity(std::move(p))};
}

long long identity::seconds_left() const {
  int days = 0;
  int secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr,
                     X509_get0_notAfter(current()->cert.get()))
      != 1)
    return 0;
  return static_cast<long long>(days) * 86400 + secs;
}

std::string identity::sign(const std::string& data) const {
  auto creds = current();
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  size_t len = 0;
  if (!ctx
      || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(creds->key.get()),
                            nullptr, creds->key.get())
           != 1
      || EVP_DigestSign(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(data.data()),
                        data.size())
           != 1)
    throw std::runtime_error("cannot sign: " + openssl_error());
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size())
      != 1)
    throw std::runtime_error("cannot sign: " + openssl_error());
  sig.resize(len);
  return sig;
}

caf::error identity::check_own_use(cert_use use) const {
  auto creds = current();
  auto ok = creds->verify_chain(creds->cert.get(), use);
  return ok ? caf::none : ok.error();
}

caf::expected<std::string>
identity::verify_cert(const std::string& cert_pem, cert_use use) const {
  if (cert_pem.empty() || cert_pem.size() > 64 * 1024)
    return make_error(errc::auth_failed, "no usable peer certificate");
  auto peer = parse_cert(cert_pem);
  if (!peer) {
    ERR_clear_error();
    return make_error(errc::auth_failed, "peer certificate is not PEM");
  }
  return current()->verify_chain(peer.get(), use);
}

caf::expected<std::string> identity::verify(const std::string& cert_pem,
                                            const std::string& data,
                                            const std::string& signature,
                                            cert_use use) const {
  auto name = verify_cert(cert_pem, use);
  if (!name)
    return name;
  auto peer = parse_cert(cert_pem);
  pkey_ptr key{X509_get_pubkey(peer.get())};
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  if (!key || !ctx
      || EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(key.get()),
                              nullptr, key.get())
           != 1
      || EVP_DigestVerify(
           ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
           signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
           data.size())
           != 1) {
    ERR_clear_error();
    return make_error(errc::auth_failed,
                      "identity proof of '" + *name + "' does not verify");
  }
  return name;
}

std::string proof_message(const std::string& side, const std::string& nonce_a,
                          const std::string& nonce_b,
                          const std::string& name_a,
                          const std::string& name_b) {
  std::string out = "ferry-identity-proof-v1";
  for (auto* part : {&side, &nonce_a, &nonce_b, &name_a, &name_b}) {
    auto len = std::to_string(part->size());
    out += ':' + len + ':' + *part;
  }
  return out;
}

} // namespace ferry
