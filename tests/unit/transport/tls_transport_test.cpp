// ferry's TLS transport (transport/tls/), in-process: two actor systems
// talk BASP over it on loopback.

#include "transport/net/net_layer.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/node_id.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/error.hpp"
#include "transport/caf_setup.hpp"
#include "transport/pki.hpp"
#include "transport/tls/handshake_pool.hpp"
#include "transport/tls/tls_context.hpp"
#include "util/files.hpp"
#include "util/net.hpp"

using namespace ferry;
using namespace std::chrono_literals;

namespace {

/// Throwaway certificates in a temporary directory.
class pki_dir {
public:
  pki_dir() : ca_(pki::make_ca("test-ca")), other_ca_(pki::make_ca("other")) {
    char tmpl[] = "/tmp/ferry-tls-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    files::write_atomic(dir_ + "/ca.pem", ca_.cert_pem);
    files::write_atomic(dir_ + "/other-ca.pem", other_ca_.cert_pem);
  }

  ~pki_dir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Files for `cn`: certificate from `by_other` ? the other CA : ours;
  /// trusting `trust_other` ? the other CA : ours.
  tls_settings issue(const std::string& cn, bool by_other = false,
                     bool trust_other = false) {
    auto cred = pki::issue(by_other ? other_ca_ : ca_, cn);
    pki::write(cred, dir_, cn);
    tls_settings s;
    s.cert = dir_ + "/" + cn + "-cert.pem";
    s.key = dir_ + "/" + cn + "-key.pem";
    s.ca = dir_ + (trust_other ? "/other-ca.pem" : "/ca.pem");
    return s;
  }

  const std::string& dir() const {
    return dir_;
  }

private:
  pki::credential ca_;
  pki::credential other_ca_;
  std::string dir_;
};

/// One actor system with a TLS layer.
struct node {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<net_layer> tls;
  std::vector<caf::actor> actors; ///< Ended before the system (it waits).

  explicit node(const tls_settings& files,
                std::chrono::milliseconds timeout = 5000ms) {
    configure_caf(cfg, files, liveness{});
    sys = std::make_unique<caf::actor_system>(cfg);
    // These tests are about TLS: the door lets this fixture's large echo
    // messages through without a login (door tests are elsewhere).
    net_layer::options opts;
    opts.handshake_timeout = timeout;
    opts.limits.max_payload = opts.limits.max_payload_before_login = 32 << 20;
    auto layer = net_layer::start(*sys, &files, opts);
    if (layer)
      tls = std::move(*layer);
    else
      ADD_FAILURE() << error_text(layer.error());
  }

  ~node() {
    for (auto& a : actors)
      caf::anon_send_exit(a, caf::exit_reason::kill);
    tls.reset();
    sys.reset();
  }

  /// Publishes an echo actor at 127.0.0.1 (any port); returns the port.
  uint16_t publish_echo() {
    auto echo = sys->spawn([]() -> caf::behavior {
      return {[](const std::string& s) { return "echo:" + s; }};
    });
    actors.push_back(echo);
    // Published, so open to every node for what it answers.
    tls->doors()->open({echo.id(), {}, 0,
                        std::make_shared<const std::set<std::string>>(
                          std::set<std::string>{"@<>+@str"}),
                        false, "echo"});
    caf::scoped_actor self{*sys};
    uint16_t port = 0;
    self
      ->request(*tls->actor_for(true), 5s, caf::publish_atom::value, uint16_t{0},
                caf::actor_cast<caf::strong_actor_ptr>(echo),
                std::set<std::string>{}, std::string{"127.0.0.1"}, true)
      .receive([&](uint16_t p) { port = p; },
               [&](caf::error& err) { ADD_FAILURE() << error_text(err); });
    return port;
  }

  /// Connects to `port` and returns the published actor, or the error.
  caf::expected<caf::actor> connect(uint16_t port) {
    caf::scoped_actor self{*sys};
    caf::expected<caf::actor> result{caf::actor{}};
    self
      ->request(*tls->actor_for(true), 15s, caf::connect_atom::value,
                std::string{"127.0.0.1"}, port)
      .receive(
        [&](const caf::node_id&, caf::strong_actor_ptr& ptr,
            const std::set<std::string>&) {
          result = caf::actor_cast<caf::actor>(ptr);
        },
        [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// Sends `text` to `target` and returns the answer (or the error text).
  std::string ask(const caf::actor& target, const std::string& text) {
    caf::scoped_actor self{*sys};
    std::string out;
    self->request(target, 10s, text)
      .receive([&](const std::string& s) { out = s; },
               [&](caf::error& err) { out = "error: " + error_text(err); });
    return out;
  }
};

/// CPU seconds this process used so far (all threads).
double process_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

/// A raw TCP connection to `port` that sends `bytes` and then nothing.
int raw_connection(uint16_t port, const std::string& bytes) {
  std::string err;
  int fd = net::tcp_connect({"127.0.0.1", port}, 2000, err);
  EXPECT_GE(fd, 0) << err;
  if (fd >= 0 && !bytes.empty()) {
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  return fd;
}

/// True if the peer closes `fd` within `timeout`.
bool closed_by_peer(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) == 1) {
      char buf[256];
      auto n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0)
        return true;
    }
  }
  return false;
}

} // namespace

TEST(tls_context, loads_files_and_names_the_bad_one) {
  pki_dir pki;
  auto good = pki.issue("server");
  EXPECT_TRUE(tls_context::load(good));
  auto missing = good;
  missing.key = pki.dir() + "/nope.pem";
  auto r = tls_context::load(missing);
  ASSERT_FALSE(r);
  EXPECT_NE(error_text(r.error()).find("nope.pem"), std::string::npos)
    << error_text(r.error());
  auto mixed = good;
  mixed.key = pki.issue("other").key;
  r = tls_context::load(mixed);
  ASSERT_FALSE(r);
  EXPECT_NE(error_text(r.error()).find("does not match"), std::string::npos)
    << error_text(r.error());
  auto foreign = pki.issue("foreign", true);
  r = tls_context::load(foreign);
  ASSERT_FALSE(r);
  EXPECT_NE(error_text(r.error()).find("not valid under the CA"),
            std::string::npos)
    << error_text(r.error());
  auto partial = good;
  partial.ca.clear();
  EXPECT_FALSE(tls_context::load(partial));
}

TEST(tls_context, reload_keeps_the_old_context_on_bad_files) {
  pki_dir pki;
  auto files = pki.issue("server");
  auto ctx = tls_context::load(files);
  ASSERT_TRUE(ctx);
  ASSERT_EQ(::unlink(files.key.c_str()), 0);
  auto err = (*ctx)->reload();
  EXPECT_TRUE(err);
  EXPECT_NE(error_text(err).find(files.key), std::string::npos)
    << error_text(err);
  // Still able to make sessions from the context read at start.
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  EXPECT_TRUE((*ctx)->new_session(sv[0], true));
  ::close(sv[0]);
  ::close(sv[1]);
  // Valid new files are taken.
  pki.issue("server");
  EXPECT_FALSE((*ctx)->reload());
}

TEST(tls_transport, round_trip_small_and_large_messages) {
  pki_dir pki;
  node server{pki.issue("server")};
  node client{pki.issue("client")};
  auto port = server.publish_echo();
  ASSERT_NE(port, 0);
  auto echo = client.connect(port);
  ASSERT_TRUE(echo) << error_text(echo.error());
  ASSERT_TRUE(*echo);
  EXPECT_EQ(client.ask(*echo, "hello"), "echo:hello");
  // Several TLS records per message: partial writes and SSL_pending.
  std::string big(6 * 1024 * 1024 + 17, 'x');
  for (size_t i = 0; i < big.size(); i += 4093)
    big[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(client.ask(*echo, big), "echo:" + big);
  // A second connect to the same endpoint reuses the node connection.
  auto again = client.connect(port);
  ASSERT_TRUE(again);
  EXPECT_EQ(client.ask(*again, "again"), "echo:again");
}

TEST(tls_transport, idle_and_truncated_connections_cost_no_cpu) {
  pki_dir pki;
  node server{pki.issue("server")};
  node client{pki.issue("client")};
  auto port = server.publish_echo();
  ASSERT_NE(port, 0);
  int idle = raw_connection(port, "");
  int truncated = raw_connection(port, std::string("\x16\x03\x01", 3));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.tls->pending_handshakes(), 2u);
  auto cpu0 = process_cpu_seconds();
  std::this_thread::sleep_for(1000ms);
  auto cpu = process_cpu_seconds() - cpu0;
  RecordProperty("idle_cpu_seconds", std::to_string(cpu));
  std::printf("CPU over 1 s with an idle and a truncated connection: %.3f s\n",
              cpu);
  EXPECT_LT(cpu, 0.25) << "the process spins while handshakes are pending";
  // The agent side keeps serving meanwhile.
  auto echo = client.connect(port);
  ASSERT_TRUE(echo) << error_text(echo.error());
  EXPECT_EQ(client.ask(*echo, "still"), "echo:still");
  ::close(idle);
  ::close(truncated);
}

TEST(tls_transport, pending_handshakes_time_out_and_close) {
  pki_dir pki;
  node server{pki.issue("server"), 300ms};
  auto port = server.publish_echo();
  ASSERT_NE(port, 0);
  int idle = raw_connection(port, std::string("\x16\x03\x01", 3));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_peer(idle, 3000ms));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 200ms);
  EXPECT_EQ(server.tls->pending_handshakes(), 0u);
  ::close(idle);
}

TEST(tls_transport, garbage_is_refused_quickly) {
  pki_dir pki;
  node server{pki.issue("server")};
  auto port = server.publish_echo();
  int fd = raw_connection(port, std::string(4096, 'x'));
  EXPECT_TRUE(closed_by_peer(fd, 2000ms));
  ::close(fd);
}

TEST(tls_transport, a_client_distrusting_the_server_gives_up) {
  pki_dir pki;
  node server{pki.issue("server")};
  // The client's CA is another one: it rejects the server's certificate.
  node client{pki.issue("mallory", true, true)};
  auto port = server.publish_echo();
  auto r = client.connect(port);
  ASSERT_FALSE(r);
  auto text = error_text(r.error());
  EXPECT_NE(text.find("closed the connection during the handshake"),
            std::string::npos)
    << text;
  EXPECT_NE(text.find("not trusted"), std::string::npos) << text;
}

TEST(tls_transport, a_client_certificate_from_another_ca_is_refused) {
  pki_dir pki;
  node server{pki.issue("server")};
  auto port = server.publish_echo();
  // A client that trusts our CA but holds a certificate from another one
  // (built by hand: tls_context::load refuses such files).
  auto files = pki.issue("mallory", true, false);
  auto ctx = tls_context::build([&] {
    auto own_ca = files;
    own_ca.ca = pki.dir() + "/other-ca.pem";
    return own_ca;
  }());
  ASSERT_TRUE(ctx) << error_text(ctx.error());
  // Trust our CA for the server's certificate.
  auto* store = SSL_CTX_get_cert_store(ctx->get());
  auto ours = files::read(pki.dir() + "/ca.pem");
  ASSERT_TRUE(ours);
  BIO* bio = BIO_new_mem_buf(ours->data(), static_cast<int>(ours->size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  X509_STORE_add_cert(store, ca);
  X509_free(ca);
  BIO_free(bio);
  int fd = raw_connection(port, "");
  ssl_ptr ssl{SSL_new(ctx->get())};
  SSL_set_fd(ssl.get(), fd);
  // TLS 1.3: the client finishes first; the server's verdict follows.
  int rc = SSL_connect(ssl.get());
  if (rc == 1) {
    char buf[64];
    rc = SSL_read(ssl.get(), buf, sizeof(buf));
  }
  EXPECT_LE(rc, 0);
  ERR_clear_error();
  ssl.reset();
  ::close(fd);
}

TEST(tls_transport, stop_ends_a_client_handshake_with_a_frozen_peer) {
  pki_dir pki;
  // A listener that never accepts nor answers: a frozen agent.
  uint16_t port = 0;
  std::string err;
  int lfd = net::tcp_listen({"127.0.0.1", 0}, &port, err);
  ASSERT_GE(lfd, 0) << err;
  auto client = std::make_unique<node>(pki.issue("client"), 30000ms);
  auto result = std::make_shared<caf::expected<caf::actor>>(caf::actor{});
  std::thread asker{[&, result] { *result = client->connect(port); }};
  std::this_thread::sleep_for(300ms);
  auto cpu0 = process_cpu_seconds();
  std::this_thread::sleep_for(500ms);
  EXPECT_LT(process_cpu_seconds() - cpu0, 0.2) << "the client spins";
  auto t0 = std::chrono::steady_clock::now();
  client->tls->stop();
  auto took = std::chrono::steady_clock::now() - t0;
  asker.join();
  EXPECT_LT(took, 2s);
  EXPECT_FALSE(*result);
  client.reset();
  ::close(lfd);
}

TEST(tls_transport, deleted_key_file_does_not_matter_after_start) {
  pki_dir pki;
  auto files = pki.issue("server");
  node server{files};
  node client{pki.issue("client")};
  auto port = server.publish_echo();
  ASSERT_EQ(::unlink(files.key.c_str()), 0);
  ASSERT_EQ(::unlink(files.cert.c_str()), 0);
  EXPECT_TRUE(server.tls->reload());
  auto echo = client.connect(port);
  ASSERT_TRUE(echo) << error_text(echo.error());
  EXPECT_EQ(client.ask(*echo, "x"), "echo:x");
}

TEST(tls_transport, one_layer_per_system_and_lookup) {
  pki_dir pki;
  auto files = pki.issue("server");
  node server{files};
  EXPECT_EQ(net_layer::of(*server.sys), server.tls.get());
  auto second = net_layer::start(*server.sys, &files, {1000ms, {}});
  EXPECT_FALSE(second);
  server.tls.reset();
  EXPECT_EQ(net_layer::of(*server.sys), nullptr);
}

namespace {

/// Submits a server handshake over a socketpair to `pool`, as if from
/// `peer` ("HOST:PORT"); returns the client's end.
int submit_pair(handshake_pool& pool, const tls_context& ctx,
                const std::string& peer) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
    return -1;
  auto ssl = ctx.new_session(sv[0], true);
  EXPECT_TRUE(ssl);
  auto hs = std::make_unique<tls_handshake>(sv[0], std::move(*ssl), peer);
  EXPECT_TRUE(pool.submit(std::move(hs), [](auto) {}));
  return sv[1];
}

} // namespace

TEST(handshake_pool, a_newcomer_takes_the_place_of_the_oldest_and_stop_closes_all) {
  // Silent connections must not keep a client out: when the pool is full
  // the oldest pending handshake is closed, not the newcomer refused.
  pki_dir pki;
  auto ctx = tls_context::load(pki.issue("server"));
  ASSERT_TRUE(ctx);
  handshake_pool::limits lim;
  lim.threads = 1;
  lim.max_pending = 2;
  lim.timeout = 10s;
  handshake_pool pool{lim};
  ASSERT_FALSE(pool.start());
  int peers[3];
  for (int i = 0; i < 3; ++i)
    peers[i] = submit_pair(pool, **ctx, "10.0.0." + std::to_string(i) + ":1");
  EXPECT_TRUE(closed_by_peer(peers[0], 1000ms));
  EXPECT_FALSE(closed_by_peer(peers[2], 200ms));
  EXPECT_EQ(pool.pending(), 2u);
  pool.stop();
  EXPECT_EQ(pool.pending(), 0u);
  EXPECT_TRUE(closed_by_peer(peers[1], 1000ms));
  EXPECT_TRUE(closed_by_peer(peers[2], 1000ms));
  for (int fd : peers)
    ::close(fd);
}

TEST(handshake_pool, one_address_displaces_only_its_own_handshakes) {
  pki_dir pki;
  auto ctx = tls_context::load(pki.issue("server"));
  ASSERT_TRUE(ctx);
  handshake_pool::limits lim;
  lim.threads = 1;
  lim.max_pending = 8;
  lim.max_pending_per_address = 2;
  lim.timeout = 10s;
  handshake_pool pool{lim};
  ASSERT_FALSE(pool.start());
  auto other = submit_pair(pool, **ctx, "10.0.0.9:1");
  std::vector<int> flood;
  for (int i = 0; i < 5; ++i)
    flood.push_back(submit_pair(pool, **ctx,
                                "10.0.0.1:" + std::to_string(100 + i)));
  EXPECT_EQ(pool.pending(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(closed_by_peer(flood[i], 1000ms)) << i;
  EXPECT_FALSE(closed_by_peer(other, 200ms));
  pool.stop();
  ::close(other);
  for (int fd : flood)
    ::close(fd);
}
