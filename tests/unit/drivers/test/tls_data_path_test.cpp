// The test hypervisor's TCP data connections over mutual TLS: two real
// hypervisors migrate a guest through a recording proxy. With TLS the
// guest's RAM never crosses the wire in clear; the same run without TLS
// shows it (so the check would fail if TLS were off), and peers without
// the CA's certificate are refused.

#include "drivers/test/hv/hypervisor.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/test/hv/guest.hpp"
#include "util/error.hpp"
#include "transport/pki.hpp"
#include "transport/tls/tls_context.hpp"
#include "util/files.hpp"
#include "util/net.hpp"

using namespace ferry;
using namespace ferry::testhv;

namespace {

const char* const guest_xml =
  "<domain type='test'><name>wire</name>"
  "<uuid>5b0f8a62-8d0e-4a53-9d2c-2b1f6f1c7a10</uuid>"
  "<memory unit='MiB'>8</memory><vcpu>1</vcpu></domain>";

/// Certificates of two hypervisors from one CA, and one from another CA.
class pki_files {
public:
  pki_files() {
    char tmpl[] = "/tmp/ferry-hv-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto ca = pki::make_ca("test-ca");
    auto other = pki::make_ca("other-ca");
    files::write_atomic(dir_ + "/ca.pem", ca.cert_pem);
    files::write_atomic(dir_ + "/other-ca.pem", other.cert_pem);
    for (auto cn : {"agent-a", "agent-b"})
      pki::write(pki::issue(ca, cn), dir_, cn);
    pki::write(pki::issue(other, "intruder"), dir_, "intruder");
  }
  ~pki_files() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::shared_ptr<const tls_context> context(const std::string& cn,
                                             const std::string& ca = "ca") {
    tls_settings s{dir_ + "/" + cn + "-cert.pem", dir_ + "/" + cn + "-key.pem",
                   dir_ + "/" + ca + ".pem"};
    auto ctx = tls_context::load(s);
    EXPECT_TRUE(ctx) << error_text(ctx.error());
    return ctx ? *ctx : nullptr;
  }

private:
  std::string dir_;
};

/// Relays one TCP connection to `target` and records what the client sent.
class recording_proxy {
public:
  explicit recording_proxy(uint16_t target) : target_(target) {
    std::string err;
    lfd_ = net::tcp_listen({"127.0.0.1", 0}, &port_, err);
    EXPECT_GE(lfd_, 0) << err;
    thread_ = std::thread{[this] { run(); }};
  }
  ~recording_proxy() {
    stop_ = true;
    thread_.join();
    ::close(lfd_);
  }
  uint16_t port() const {
    return port_;
  }
  std::string recorded() {
    std::lock_guard<std::mutex> guard{mtx_};
    return seen_;
  }

private:
  void run() {
    int in = -1;
    while (!stop_ && in < 0)
      in = net::accept_one(lfd_, 100, &stop_);
    if (in < 0)
      return;
    std::string err;
    int out = net::tcp_connect({"127.0.0.1", target_}, 2000, err);
    if (out < 0) {
      ::close(in);
      return;
    }
    char buf[65536];
    bool open_in = true;
    bool open_out = true;
    while (!stop_ && (open_in || open_out)) {
      pollfd p[2] = {{in, POLLIN, 0}, {out, POLLIN, 0}};
      if (::poll(p, 2, 100) <= 0)
        continue;
      if (open_in && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        auto n = ::recv(in, buf, sizeof(buf), 0);
        if (n <= 0) {
          open_in = false;
          ::shutdown(out, SHUT_WR);
        } else {
          {
            std::lock_guard<std::mutex> guard{mtx_};
            seen_.append(buf, static_cast<size_t>(n));
          }
          ::send(out, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
      }
      if (open_out && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        auto n = ::recv(out, buf, sizeof(buf), 0);
        if (n <= 0) {
          open_out = false;
          ::shutdown(in, SHUT_WR);
        } else {
          ::send(in, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
      }
      if (!open_in && !open_out)
        break;
    }
    ::close(in);
    ::close(out);
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int lfd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::string seen_;
  std::thread thread_;
};

json call(hypervisor& hv, const std::string& cmd, json args) {
  std::vector<int> fds;
  return hv.execute(cmd, args, fds);
}

/// Polls `query-migrate` until the migration of `wire` ends.
std::string wait_end(hypervisor& hv) {
  for (int i = 0; i < 1000; ++i) {
    auto st = call(hv, "query-migrate", {{"name", "wire"}})["return"];
    auto s = st.value("status", "");
    if (s == "completed" || s == "failed" || s == "cancelled")
      return s + (st.value("error-desc", "").empty()
                    ? std::string{}
                    : ": " + st.value("error-desc", ""));
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return "timed out";
}

/// 64 bytes of the guest's page 100, as its hypervisor fills it.
std::string marker() {
  auto def = parse_domain_xml(guest_xml);
  guest g{*def, true};
  std::string page(guest_page_size, '\0');
  std::lock_guard<std::mutex> guard{g.ram_mutex()};
  g.read_page(100, page.data());
  return page.substr(512, 64);
}

const std::string token(64, 'a');

struct outcome {
  json source_reply;  ///< `migrate`'s answer.
  std::string source; ///< How the source's migration ended.
  std::string dest;   ///< How the destination's ended.
  std::string wire;   ///< What the source sent, as the proxy saw it.
  bool same_ram = false;
};

/// Migrates `wire` from `src` to `dst` through a recording proxy.
outcome migrate_through_proxy(hypervisor& src, hypervisor& dst, bool tls) {
  outcome out;
  EXPECT_TRUE(call(src, "domain-create", {{"xml", guest_xml}, {"fill", true}})
                .contains("return"));
  EXPECT_TRUE(call(dst, "domain-create",
                   {{"xml", guest_xml}, {"fill", false}, {"paused", true}})
                .contains("return"));
  auto in = call(dst, "migrate-incoming",
                 {{"name", "wire"}, {"uri", "tcp:127.0.0.1:0"},
                  {"token", token}, {"tls", tls}});
  EXPECT_TRUE(in.contains("return")) << in.dump();
  EXPECT_EQ(in["return"].value("tls", !tls), tls);
  recording_proxy proxy{in["return"].value("port", uint16_t{0})};
  out.source_reply = call(src, "migrate",
                          {{"name", "wire"},
                           {"uri", "tcp:127.0.0.1:"
                                     + std::to_string(proxy.port())},
                           {"token", token}, {"tls", tls}, {"live", false}});
  if (out.source_reply.contains("return")) {
    out.source = wait_end(src);
    out.dest = wait_end(dst);
  }
  out.wire = proxy.recorded();
  auto a = call(src, "domain-digest", {{"name", "wire"}})["return"];
  auto b = call(dst, "domain-digest", {{"name", "wire"}})["return"];
  out.same_ram = a.value("sha256", "x") == b.value("sha256", "y");
  return out;
}

} // namespace

TEST(tls_data_path, native_migration_is_encrypted_on_the_wire) {
  pki_files pki;
  hypervisor a{"", pki.context("agent-a"), nullptr};
  hypervisor b{"", pki.context("agent-b"), nullptr};
  ASSERT_TRUE(a.tls() && b.tls());
  auto out = migrate_through_proxy(a, b, true);
  ASSERT_EQ(out.source, "completed") << out.source_reply.dump();
  ASSERT_EQ(out.dest, "completed");
  EXPECT_TRUE(out.same_ram);
  // All 8 MiB went through the proxy, none of it readable.
  EXPECT_GT(out.wire.size(), size_t{8} << 20);
  EXPECT_EQ(out.wire.find(marker()), std::string::npos);
  EXPECT_EQ(out.wire.find("FRYMIG01"), std::string::npos);
  EXPECT_EQ(out.wire.find(token), std::string::npos);
  // A TLS 1.3 handshake record opens the stream (content type 22).
  ASSERT_FALSE(out.wire.empty());
  EXPECT_EQ(out.wire[0], 0x16);
}

TEST(tls_data_path, the_same_migration_in_plain_tcp_shows_the_guest_ram) {
  // The control for the test above: the marker is found when TLS is off.
  hypervisor a{"", nullptr, nullptr};
  hypervisor b{"", nullptr, nullptr};
  auto out = migrate_through_proxy(a, b, false);
  ASSERT_EQ(out.source, "completed") << out.source_reply.dump();
  EXPECT_TRUE(out.same_ram);
  EXPECT_NE(out.wire.find(marker()), std::string::npos);
  EXPECT_NE(out.wire.find(token), std::string::npos);
}

TEST(tls_data_path, a_source_with_a_certificate_from_another_ca_is_refused) {
  pki_files pki;
  hypervisor a{"", pki.context("intruder", "other-ca"), nullptr};
  hypervisor b{"", pki.context("agent-b"), nullptr};
  auto out = migrate_through_proxy(a, b, true);
  // The source cannot verify b (and b would not accept it): refused at the
  // handshake, before a byte of the guest moved.
  ASSERT_TRUE(out.source_reply.contains("error")) << out.source_reply.dump();
  auto desc = out.source_reply["error"].value("desc", "");
  EXPECT_NE(desc.find("TLS handshake"), std::string::npos) << desc;
  EXPECT_EQ(out.wire.find(marker()), std::string::npos);
  EXPECT_FALSE(out.same_ram);
}

TEST(tls_data_path, tls_is_refused_without_certificates) {
  hypervisor plain{"", nullptr, nullptr};
  EXPECT_FALSE(plain.tls());
  call(plain, "domain-create",
       {{"xml", guest_xml}, {"fill", false}, {"paused", true}});
  auto in = call(plain, "migrate-incoming",
                 {{"name", "wire"}, {"uri", "tcp:127.0.0.1:0"},
                  {"token", token}, {"tls", true}});
  ASSERT_TRUE(in.contains("error")) << in.dump();
  EXPECT_NE(in["error"].value("desc", "").find("no TLS certificates"),
            std::string::npos);
}

TEST(tls_data_path, a_plain_source_cannot_reach_a_tls_listener) {
  pki_files pki;
  hypervisor a{"", nullptr, nullptr};
  hypervisor b{"", pki.context("agent-b"), nullptr};
  call(a, "domain-create", {{"xml", guest_xml}, {"fill", true}});
  call(b, "domain-create",
       {{"xml", guest_xml}, {"fill", false}, {"paused", true}});
  auto in = call(b, "migrate-incoming",
                 {{"name", "wire"}, {"uri", "tcp:127.0.0.1:0"},
                  {"token", token}});
  ASSERT_TRUE(in["return"].value("tls", false)); // TLS by default with certs
  auto port = in["return"].value("port", 0);
  auto res = call(a, "migrate",
                  {{"name", "wire"},
                   {"uri", "tcp:127.0.0.1:" + std::to_string(port)},
                   {"token", token}, {"live", false}});
  ASSERT_TRUE(res.contains("return")) << res.dump();
  EXPECT_EQ(wait_end(a).rfind("failed", 0), 0u);
  auto dest = call(b, "query-migrate", {{"name", "wire"}})["return"];
  EXPECT_NE(dest.value("status", ""), "completed");
}
