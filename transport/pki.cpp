#include "transport/pki.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "transport/tls/openssl_handles.hpp"
#include "util/files.hpp"

namespace ferry::pki {

namespace {


void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string{"pki: "} + what + " failed");
}

pkey_ptr new_key(key_kind kind = key_kind::ec_p256) {
  switch (kind) {
    case key_kind::ed25519:
      return pkey_ptr{EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")};
    case key_kind::rsa2048:
      return pkey_ptr{EVP_RSA_gen(2048)};
    case key_kind::ec_p256:
      break;
  }
  return pkey_ptr{EVP_EC_gen("P-256")};
}

std::string to_pem(X509* cert) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string to_pem(EVP_PKEY* key) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                 nullptr)
          == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

pkey_ptr read_key(const std::string& pem) {
  bio_ptr bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  return pkey_ptr{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
}

x509_ptr read_cert(const std::string& pem) {
  bio_ptr bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  return x509_ptr{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

x509_ptr new_cert(const std::string& cn, EVP_PKEY* key, int days,
                  int not_before_days) {
  x509_ptr cert{X509_new()};
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  auto* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                  static_cast<long>(not_before_days) * 86400 - 60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  static_cast<long>(not_before_days + days) * 86400);
  X509_set_pubkey(cert.get(), key);
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  return cert;
}

} // namespace

credential make_ca(const std::string& cn, int days) {
  auto key = new_key();
  check(key != nullptr, "EC key generation");
  auto cert = new_cert(cn, key.get(), days, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  return {to_pem(cert.get()), to_pem(key.get())};
}

credential issue(const credential& ca, const std::string& cn, int days,
                 int not_before_days) {
  issue_options opts;
  opts.days = days;
  opts.not_before_days = not_before_days;
  return issue(ca, cn, opts);
}

credential issue(const credential& ca, const std::string& cn,
                 const issue_options& opts) {
  auto ca_key = read_key(ca.key_pem);
  auto ca_cert = read_cert(ca.cert_pem);
  check(ca_key && ca_cert, "reading the CA");
  auto key = new_key(opts.key);
  check(key != nullptr, "key generation");
  auto cert = new_cert(cn, key.get(), opts.days, opts.not_before_days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  add_ext(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca_cert.get(), NID_key_usage,
          "critical,digitalSignature,keyEncipherment,keyAgreement");
  add_ext(cert.get(), ca_cert.get(), NID_ext_key_usage,
          opts.use == purpose::client   ? "clientAuth"
          : opts.use == purpose::server ? "serverAuth"
                                        : "serverAuth,clientAuth");
  check(X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0, "X509_sign");
  return {to_pem(cert.get()), to_pem(key.get())};
}

caf::error write(const credential& cred, const std::string& dir,
                 const std::string& prefix) {
  if (auto err = files::make_dirs(dir))
    return err;
  if (auto err = files::write_atomic(dir + "/" + prefix + "-cert.pem",
                                     cred.cert_pem, 0644))
    return err;
  return files::write_atomic(dir + "/" + prefix + "-key.pem", cred.key_pem,
                             0600);
}

} // namespace ferry::pki
