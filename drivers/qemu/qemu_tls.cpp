#include "drivers/qemu/qemu_tls.hpp"

#include <memory>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "drivers/qemu/qemu_process.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ferry {

namespace {

constexpr const char* creds_id = "ferry-tls";
constexpr size_t max_pem_bytes = 1 << 20;

/// The CN of the first certificate in `pem`, or "".
std::string common_name(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
  if (!bio)
    return {};
  std::unique_ptr<X509, decltype(&X509_free)> cert{
    PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
  if (!cert)
    return {};
  char buf[256] = {};
  auto n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()),
                                     NID_commonName, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
}

} // namespace

caf::expected<qemu_tls> qemu_tls::prepare(const tls_settings& files,
                                          const std::string& dir) {
  if (auto err = files.check_complete())
    return err;
  auto cert = files::read(files.cert, max_pem_bytes);
  if (!cert)
    return cert.error();
  auto key = files::read(files.key, max_pem_bytes);
  if (!key)
    return key.error();
  auto ca = files::read(files.ca, max_pem_bytes);
  if (!ca)
    return ca.error();
  qemu_tls out;
  out.dir_ = dir;
  out.name_ = common_name(*cert);
  if (out.name_.empty())
    return make_error(errc::config_error,
                      "TLS file " + files.cert
                        + ": no certificate with a common name for QEMU");
  if (auto err = files::make_dirs(dir, 0700))
    return err;
  const std::pair<const char*, const std::string*> layout[] = {
    {"ca-cert.pem", &*ca},          {"server-cert.pem", &*cert},
    {"client-cert.pem", &*cert},    {"server-key.pem", &*key},
    {"client-key.pem", &*key},
  };
  for (auto& [name, content] : layout) {
    bool secret = std::string{name}.find("-key") != std::string::npos;
    if (auto err = files::write_atomic(dir + "/" + name, *content,
                                       secret ? 0600 : 0644))
      return err;
  }
  return out;
}

caf::error qemu_tls::enable(qemu_process& proc, bool server,
                            const std::string& peer_name) const {
  // A previous migration of this QEMU may have left the object behind.
  proc.call("object-del", {{"id", creds_id}});
  auto added = proc.call("object-add", {{"qom-type", "tls-creds-x509"},
                                        {"id", creds_id},
                                        {"dir", dir_},
                                        {"endpoint", server ? "server"
                                                            : "client"},
                                        {"verify-peer", true}});
  if (!added)
    return added.error();
  qmp::json params{{"tls-creds", creds_id}};
  if (!server)
    params["tls-hostname"] = peer_name;
  auto res = proc.call("migrate-set-parameters", params);
  return res ? caf::none : res.error();
}

caf::error qemu_tls::disable(qemu_process& proc) {
  auto res = proc.call("migrate-set-parameters",
                       {{"tls-creds", ""}, {"tls-hostname", ""}});
  return res ? caf::none : res.error();
}

} // namespace ferry
