// ferry-pki: makes a throwaway CA and certificates for demos and tests.
//
//   ferry-pki DIR NAME… [--client NAME…]
//                         creates DIR/ca-cert.pem (+ key) if missing, then
//                         DIR/NAME-cert.pem and DIR/NAME-key.pem per NAME:
//                         agent certificates (serverAuth and clientAuth),
//                         and after --client, client certificates
//                         (clientAuth only: they cannot serve as agents).
// Production deployments should use their own CA.

#include <cstdio>
#include <string>

#include "util/error.hpp"
#include "transport/pki.hpp"
#include "util/files.hpp"

using namespace ferry;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ferry-pki DIR NAME... [--client NAME...]\n");
    return 2;
  }
  std::string dir = argv[1];
  pki::credential ca;
  auto cert = files::read(dir + "/ca-cert.pem");
  auto key = files::read(dir + "/ca-key.pem");
  if (cert && key) {
    ca = {*cert, *key};
  } else {
    ca = pki::make_ca("ferry-ca");
    if (auto err = pki::write(ca, dir, "ca")) {
      std::fprintf(stderr, "error: %s\n", error_text(err).c_str());
      return 1;
    }
  }
  pki::issue_options opts;
  opts.days = 365;
  for (int i = 2; i < argc; ++i) {
    if (std::string{argv[i]} == "--client") {
      opts.use = pki::purpose::client;
      continue;
    }
    if (auto err = pki::write(pki::issue(ca, argv[i], opts), dir, argv[i])) {
      std::fprintf(stderr, "error: %s\n", error_text(err).c_str());
      return 1;
    }
  }
  return 0;
}
