// ferry's own TLS transport against real ferryd processes: no busy loop
// while handshakes are pending, no hang on a frozen agent, no crash when
// the files go away, and no admission without a certificate from our CA.

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <csignal>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tests/integration/fixture.hpp"
#include "transport/pki.hpp"
#include "util/files.hpp"
#include "util/net.hpp"
#include "util/process.hpp"

using namespace ferry;
using namespace ferry::test;
using namespace std::chrono_literals;

namespace {

/// CPU seconds of this process's children that have been waited for.
double children_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

/// A raw TCP connection to the node's port that sends `bytes`, then nothing.
int raw_connection(harness::node& n, const std::string& bytes) {
  std::string err;
  int fd = net::tcp_connect({"127.0.0.1", n.options().port}, 2000, err);
  EXPECT_GE(fd, 0) << err;
  if (fd >= 0 && !bytes.empty()) {
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  return fd;
}

/// What a hand-made TLS handshake with an agent found.
struct probe_result {
  bool accepted = false;       ///< The connection lived past the handshake.
  std::string server_cert_pem; ///< The certificate the agent presented.
};

/// Runs a TLS client handshake by hand with `cred` (issued by any CA; an
/// empty one presents no certificate), trusting `trusted_ca_pem` for the
/// agent. The agent answers nothing after
/// the handshake, so a read that times out counts as accepted.
probe_result tls_probe(harness::node& n, const pki::credential& cred,
                       const std::string& trusted_ca_pem) {
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx{SSL_CTX_new(TLS_method()),
                                                   SSL_CTX_free};
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  auto load = [](const std::string& pem, auto reader) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    auto* obj = reader(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return obj;
  };
  if (!cred.cert_pem.empty()) {
    X509* cert = load(cred.cert_pem, PEM_read_bio_X509);
    EVP_PKEY* key = load(cred.key_pem, PEM_read_bio_PrivateKey);
    SSL_CTX_use_certificate(ctx.get(), cert);
    SSL_CTX_use_PrivateKey(ctx.get(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  X509* ca = load(trusted_ca_pem, PEM_read_bio_X509);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  X509_free(ca);
  int fd = raw_connection(n, "");
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  SSL* ssl = SSL_new(ctx.get());
  SSL_set_fd(ssl, fd);
  probe_result out;
  if (SSL_connect(ssl) == 1) {
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
      BIO* bio = BIO_new(BIO_s_mem());
      PEM_write_bio_X509(bio, peer);
      char* data = nullptr;
      auto len = BIO_get_mem_data(bio, &data);
      out.server_cert_pem.assign(data, static_cast<size_t>(len));
      BIO_free(bio);
      X509_free(peer);
    }
    // TLS 1.3: the server checks our certificate after we finished.
    char buf[64];
    int rc = SSL_read(ssl, buf, sizeof(buf));
    out.accepted = rc > 0
                   || (SSL_get_error(ssl, rc) == SSL_ERROR_SYSCALL
                       && (errno == EAGAIN || errno == EWOULDBLOCK));
  }
  ERR_clear_error();
  SSL_free(ssl);
  ::close(fd);
  return out;
}

bool agent_accepts(harness::node& n, const pki::credential& cred,
                   const std::string& trusted_ca_pem) {
  return tls_probe(n, cred, trusted_ca_pem).accepted;
}

/// Waits up to 5 s for `text` in the node's log.
bool log_shows(harness::node& n, const std::string& text) {
  for (int i = 0; i < 100; ++i) {
    if (n.log().find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

} // namespace

class tls_transport : public cluster_test {};

TEST_F(tls_transport, pending_handshakes_cost_the_agent_no_cpu) {
  auto& a = start_node("a");
  ok("a", {"list"});
  int idle = raw_connection(a, "");
  int truncated = raw_connection(a, std::string("\x16\x03\x01", 3));
  std::this_thread::sleep_for(200ms);
  auto cpu0 = process::cpu_seconds(a.pid());
  std::this_thread::sleep_for(1000ms);
  auto cpu = process::cpu_seconds(a.pid()) - cpu0;
  RecordProperty("agent_cpu_seconds_over_1s", std::to_string(cpu));
  std::printf("agent CPU over 1 s with an idle and a truncated "
              "connection: %.3f s\n",
              cpu);
  EXPECT_LT(cpu, 0.2) << "the agent spins while a handshake is pending";
  // It serves others meanwhile, and the two stay harmless.
  ok("a", {"list"});
  EXPECT_TRUE(a.running());
  ::close(idle);
  ::close(truncated);
}

TEST_F(tls_transport, a_frozen_agent_neither_hangs_nor_spins_the_client) {
  auto& a = start_node("a");
  ok("a", {"list"});
  a.freeze();
  auto cpu0 = children_cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  auto r = on("a", {"list"});
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - t0)
                .count();
  auto cpu = children_cpu_seconds() - cpu0;
  a.thaw();
  RecordProperty("frozen_agent_client_seconds", std::to_string(secs));
  RecordProperty("frozen_agent_client_cpu_seconds", std::to_string(cpu));
  std::printf("client against a frozen agent: exit after %.2f s, %.3f s CPU\n",
              secs, cpu);
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("no answer from agent"), std::string::npos) << r.err;
  EXPECT_LT(secs, 9.0) << "the client did not exit promptly";
  EXPECT_LT(cpu, 1.5) << "the client spins while waiting";
  ok("a", {"list"});
}

TEST_F(tls_transport, deleted_key_file_neither_crashes_nor_blocks_clients) {
  auto& a = start_node("a");
  ok("a", {"list"});
  ASSERT_EQ(::unlink(a.options().key.c_str()), 0);
  for (int i = 0; i < 3; ++i)
    ok("a", {"list"});
  EXPECT_TRUE(a.running());
}

TEST_F(tls_transport, only_certificates_from_our_ca_get_past_the_handshake) {
  auto& a = start_node("a");
  auto ca_pem = cl.ca().cert_pem;
  // Control: a certificate from our CA is accepted.
  EXPECT_TRUE(agent_accepts(a, pki::issue(cl.ca(), "friend"), ca_pem));
  // A client that trusts the agent but holds a certificate of another CA.
  auto other_ca = pki::make_ca("other-ca");
  EXPECT_FALSE(agent_accepts(a, pki::issue(other_ca, "mallory"), ca_pem));
  ok("a", {"list"});
  auto log = a.log();
  EXPECT_NE(log.find("the peer's certificate is not trusted"),
            std::string::npos)
    << a.log_tail();
  // No client certificate at all. The CLI refuses that before it connects,
  // so only a hand-made handshake shows that the agent refuses it too.
  EXPECT_FALSE(agent_accepts(a, pki::credential{}, ca_pem));
  EXPECT_TRUE(log_shows(a, "it sent none")) << a.log_tail();
  ok("a", {"list"});
}

TEST_F(tls_transport, sighup_rotates_the_certificate_and_bad_files_change_nothing) {
  auto& a = start_node("a");
  auto ca_pem = cl.ca().cert_pem;
  auto probe_cred = pki::issue(cl.ca(), "admin");
  auto before = tls_probe(a, probe_cred, ca_pem);
  ASSERT_TRUE(before.accepted);
  // The rotation: a new key and certificate for the same name, valid for
  // three days (so the agent also warns that it expires soon).
  auto rotated = pki::issue(cl.ca(), "agent-a", 3);
  ASSERT_FALSE(files::write_atomic(a.options().cert, rotated.cert_pem));
  ASSERT_FALSE(files::write_atomic(a.options().key, rotated.key_pem));
  ::chmod(a.options().key.c_str(), 0600);
  ASSERT_EQ(::kill(a.pid(), SIGHUP), 0);
  ASSERT_TRUE(log_shows(a, "SIGHUP: reloaded identity 'agent-a'"))
    << a.log_tail();
  EXPECT_TRUE(log_shows(a, "expires in 7")) << a.log_tail(); // 71 or 72 h
  auto after = tls_probe(a, probe_cred, ca_pem);
  EXPECT_TRUE(after.accepted);
  EXPECT_NE(after.server_cert_pem, before.server_cert_pem);
  EXPECT_EQ(after.server_cert_pem, rotated.cert_pem)
    << "new connections must get the rotated certificate";
  // Identity proofs use the new key: a client session still works.
  ok("a", {"list"});

  // Broken files: the reload is refused, the agent goes on as it was.
  ASSERT_FALSE(files::write_atomic(a.options().cert, "not a certificate"));
  ASSERT_EQ(::kill(a.pid(), SIGHUP), 0);
  ASSERT_TRUE(log_shows(a, "SIGHUP: keeping the current certificate"))
    << a.log_tail();
  EXPECT_EQ(tls_probe(a, probe_cred, ca_pem).server_cert_pem,
            rotated.cert_pem);
  ok("a", {"list"});
  EXPECT_TRUE(a.running());
}
