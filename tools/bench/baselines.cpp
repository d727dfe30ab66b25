#include "tools/bench/baselines.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/net.hpp"

namespace ferry::bench {

namespace {

constexpr size_t chunk = 512 * 1024;

double mibps(uint64_t bytes, std::chrono::steady_clock::time_point t0) {
  auto s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
             .count();
  return s > 0 ? static_cast<double>(bytes) / (1024.0 * 1024.0) / s : 0;
}

/// A connected loopback TCP pair {client, server}; throws on failure.
std::pair<int, int> tcp_pair(const char* what) {
  std::string err;
  uint16_t port = 0;
  int lfd = net::tcp_listen({"127.0.0.1", 0}, &port, err);
  if (lfd < 0)
    throw std::runtime_error(std::string{what} + ": " + err);
  int cfd = net::tcp_connect({"127.0.0.1", port}, 5000, err);
  int sfd = cfd >= 0 ? net::accept_one(lfd, 5000, nullptr) : -1;
  ::close(lfd);
  if (sfd < 0) {
    if (cfd >= 0)
      ::close(cfd);
    throw std::runtime_error(std::string{what} + ": cannot connect: " + err);
  }
  return {cfd, sfd};
}

/// Writes `bytes` to `fd` in `chunk` writes, then half-closes it.
void send_bytes(int fd, uint64_t bytes) {
  std::vector<char> buf(chunk, 'x');
  uint64_t left = bytes;
  while (left > 0) {
    auto n = ::send(fd, buf.data(), std::min<uint64_t>(left, chunk),
                    MSG_NOSIGNAL);
    if (n <= 0)
      break;
    left -= static_cast<uint64_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
}

/// Reads `fd` to its end; returns the byte count.
uint64_t drain_bytes(int fd) {
  std::vector<char> buf(chunk);
  uint64_t got = 0;
  for (;;) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    got += static_cast<uint64_t>(n);
  }
  return got;
}

/// Copies `from` to `to` until `from` ends, then half-closes `to`.
void relay(int from, int to) {
  std::vector<char> buf(chunk);
  for (;;) {
    auto n = ::recv(from, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    for (ssize_t sent = 0; sent < n;) {
      auto m = ::send(to, buf.data() + sent, static_cast<size_t>(n - sent),
                      MSG_NOSIGNAL);
      if (m <= 0)
        return;
      sent += m;
    }
  }
  ::shutdown(to, SHUT_WR);
}

} // namespace

double socket_relay_mibps(uint64_t bytes) {
  int in[2];
  int out[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, in) != 0)
    throw std::runtime_error("relay baseline: no socketpair");
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, out) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    throw std::runtime_error("relay baseline: no socketpair");
  }
  // As ferry's pump socketpairs (make_pump_socketpair).
  int size = 2 * 1024 * 1024;
  for (int fd : {in[0], in[1], out[0], out[1]}) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  auto [cfd, sfd] = tcp_pair("relay baseline");
  auto t0 = std::chrono::steady_clock::now();
  std::thread feeder{[fd = in[0], bytes] { send_bytes(fd, bytes); }};
  std::thread up{[from = in[1], to = cfd] { relay(from, to); }};
  std::thread down{[from = sfd, to = out[0]] { relay(from, to); }};
  auto got = drain_bytes(out[1]);
  auto rate = mibps(got, t0);
  for (auto* t : {&feeder, &up, &down})
    t->join();
  for (int fd : {in[0], in[1], out[0], out[1], cfd, sfd})
    ::close(fd);
  if (got != bytes)
    throw std::runtime_error("relay baseline: short copy");
  return rate;
}

double raw_tcp_copy_mibps(uint64_t bytes) {
  auto [cfd, sfd] = tcp_pair("raw TCP baseline");
  auto t0 = std::chrono::steady_clock::now();
  std::thread sender{[fd = cfd, bytes] { send_bytes(fd, bytes); }};
  auto got = drain_bytes(sfd);
  auto rate = mibps(got, t0);
  sender.join();
  ::close(cfd);
  ::close(sfd);
  if (got != bytes)
    throw std::runtime_error("raw TCP baseline: short copy");
  return rate;
}

double aes_256_gcm_mibps(uint64_t bytes) {
  constexpr size_t record = 16 * 1024;
  std::vector<unsigned char> in(record, 0x5a), out(record + 32);
  unsigned char key[32] = {1, 2, 3};
  unsigned char iv[12] = {4, 5, 6};
  unsigned char tag[16];
  auto* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr)
    throw std::runtime_error("AES baseline: no cipher context");
  auto t0 = std::chrono::steady_clock::now();
  uint64_t done = 0;
  bool ok = true;
  while (ok && done < bytes) {
    int len = 0;
    ++iv[11]; // a fresh nonce per record, as TLS does
    ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, iv) == 1
         && EVP_EncryptUpdate(ctx, out.data(), &len, in.data(),
                              static_cast<int>(in.size()))
              == 1
         && EVP_EncryptFinal_ex(ctx, out.data() + len, &len) == 1
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag)
              == 1;
    done += record;
  }
  auto rate = mibps(done, t0);
  EVP_CIPHER_CTX_free(ctx);
  if (!ok)
    throw std::runtime_error("AES baseline: OpenSSL failed");
  return rate;
}

} // namespace ferry::bench
