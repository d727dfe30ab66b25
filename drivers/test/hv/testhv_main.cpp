// ferry-testhv: the test driver's hypervisor daemon.
//
// The agent's test driver starts one per agent and talks QMP-style JSON to
// it over an inherited socket (--control-fd). Guests live in this process's
// memory, so the agent's own memory does not grow with guest size, and die
// with it: when the control connection closes (the agent exited), so does
// this daemon. Its TCP port (--listen) accepts direct, hypervisor-managed
// migrations from other test hypervisors that know the shared secret.
// With --tls-cert/--tls-key/--tls-ca (the agent's own files) every TCP data
// connection, native or direct, is mutual TLS; without, plain TCP.

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>
#include <unistd.h>

#include "drivers/qmp/line_socket.hpp"
#include "drivers/test/hv/hypervisor.hpp"
#include "util/error.hpp"
#include "transport/tls/tls_context.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/net.hpp"

using namespace ferry;
using json = nlohmann::json;

namespace {

struct options {
  int control_fd = -1;
  host_port listen{"127.0.0.1", 0};
  std::string secret_file;
  tls_settings tls;
  std::string name = "testhv";
  std::string log_level = "info";
};

bool parse(int argc, char** argv, options& opt, std::string& err) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        err = arg + " needs a value";
        return {};
      }
      return argv[++i];
    };
    if (arg == "--control-fd") {
      auto v = value();
      if (v.empty())
        return false;
      opt.control_fd = std::atoi(v.c_str());
    } else if (arg == "--listen") {
      auto v = value();
      auto colon = v.rfind(':');
      if (colon == std::string::npos) {
        err = "--listen needs HOST:PORT";
        return false;
      }
      opt.listen.host = v.substr(0, colon);
      opt.listen.port = static_cast<uint16_t>(std::atoi(v.c_str() + colon + 1));
    } else if (arg == "--secret-file") {
      opt.secret_file = value();
    } else if (arg == "--tls-cert") {
      opt.tls.cert = value();
    } else if (arg == "--tls-key") {
      opt.tls.key = value();
    } else if (arg == "--tls-ca") {
      opt.tls.ca = value();
    } else if (arg == "--name") {
      opt.name = value();
    } else if (arg == "--log-level") {
      opt.log_level = value();
    } else {
      err = "unknown option " + arg;
      return false;
    }
  }
  if (opt.control_fd < 0) {
    err = "--control-fd is required (ferry-testhv is started by ferryd)";
    return false;
  }
  return true;
}

/// Accepts direct migrations on the hypervisor's own port.
void direct_listener(int lfd, testhv::hypervisor& hv,
                     const std::atomic<bool>& stop) {
  std::atomic<int> active{0};
  while (!stop) {
    int fd = net::accept_one(lfd, 500, &stop);
    if (fd < 0)
      continue;
    if (active >= 8) {
      ::close(fd); // bound concurrent incoming migrations
      continue;
    }
    net::tune_data_socket(fd);
    ++active;
    std::thread{[fd, &hv, &active] {
      hv.serve_direct(fd);
      --active;
    }}.detach();
  }
  while (active > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
}

/// Refuses to start: tells the agent why, in place of the greeting.
int refuse(qmp::line_socket& control, const std::string& why) {
  control.write_line(
    json{{"error", {{"class", "GenericError"}, {"desc", why}}}}.dump());
  return 2;
}

/// The shared secret of direct migrations, without a trailing newline; an
/// empty one (no --secret-file) refuses every direct migration.
bool read_secret(const std::string& file, std::string& secret,
                 std::string& err) {
  if (file.empty())
    return true;
  auto content = files::read(file, 4096);
  if (!content) {
    err = error_text(content.error());
    return false;
  }
  secret = *content;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.pop_back();
  return true;
}

/// The agent's TLS files, if given.
bool load_tls(const tls_settings& settings,
              std::shared_ptr<const tls_context>& tls, std::string& err) {
  if (settings.empty())
    return true;
  // Read once, like the agent: a later deletion or rotation of the files
  // changes nothing until the hypervisor restarts with its agent.
  auto ctx = tls_context::load(settings);
  if (!ctx) {
    err = error_text(ctx.error());
    return false;
  }
  tls = std::move(*ctx);
  return true;
}

/// The listening socket of direct migrations; the port bound goes to
/// `*port` (the one asked for may be 0).
int listen_direct(const host_port& at, uint16_t* port, std::string& err) {
  int lfd = net::tcp_listen(at, port, err);
  // A predecessor killed with its agent may still be tearing down (its
  // guests' memory goes first, its sockets after): wait a little for it.
  for (int i = 0; lfd < 0 && errno == EADDRINUSE && i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    lfd = net::tcp_listen(at, port, err);
  }
  return lfd;
}

/// The QMP-style greeting: what the agent learns of this hypervisor.
void greet(qmp::line_socket& control, const host_port& bound,
           bool direct_auth, bool tls) {
  control.write_line(
    json{{"QMP",
          {{"version", {{"ferry-testhv", FERRY_VERSION}}},
           {"listen", bound.to_string()},
           {"direct-auth", direct_auth},
           {"tls", tls},
           {"capabilities", json::array()}}}}
      .dump());
  FERRY_INFO("testhv", "ready, direct migrations on "
                         << bound.to_string()
                         << (tls ? ", data connections over mutual TLS"
                                 : ", data connections in plain TCP"));
}

/// The reply to one control line: the command's result, or an error for a
/// line that is no command; it carries the request's `id` back.
json reply_to(const std::string& line, testhv::hypervisor& hv,
              std::vector<int>& fds) {
  auto req = json::parse(line, nullptr, false);
  json reply;
  if (req.is_discarded() || !req.is_object() || !req.contains("execute")
      || !req["execute"].is_string()) {
    reply = json{{"error", {{"class", "GenericError"},
                            {"desc", "expected {\"execute\": …}"}}}};
  } else {
    auto args = req.value("arguments", json::object());
    reply = hv.execute(req["execute"].get<std::string>(), args, fds);
  }
  if (req.is_object() && req.contains("id"))
    reply["id"] = req["id"];
  return reply;
}

/// Answers the agent's commands until it closes the control connection.
void serve_control(qmp::line_socket& control, testhv::hypervisor& hv) {
  std::string line;
  std::vector<int> fds;
  while (control.read_line(line, fds)) {
    control.write_line(reply_to(line, hv, fds).dump());
    for (int fd : fds)
      ::close(fd); // descriptors no command claimed
    fds.clear();
  }
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  std::string err;
  if (!parse(argc, argv, opt, err)) {
    std::fprintf(stderr, "ferry-testhv: error: %s\n", err.c_str());
    return 2;
  }
  log::level lvl = log::level::info;
  log::parse_level(opt.log_level, lvl);
  log::setup(lvl, opt.name + "/testhv");
  ::prctl(PR_SET_PDEATHSIG, SIGKILL); // guests die with the agent (by design)
  std::signal(SIGPIPE, SIG_IGN);
  qmp::line_socket control{opt.control_fd};
  std::string secret;
  if (!read_secret(opt.secret_file, secret, err))
    return refuse(control, err);
  std::shared_ptr<const tls_context> tls;
  if (!load_tls(opt.tls, tls, err))
    return refuse(control, err);
  uint16_t port = 0;
  int lfd = listen_direct(opt.listen, &port, err);
  if (lfd < 0)
    return refuse(control, err);
  testhv::hypervisor hv{secret, tls, [&control](const json& event) {
                          control.write_line(event.dump());
                        }};
  std::atomic<bool> stop{false};
  std::thread listener{[&] { direct_listener(lfd, hv, stop); }};
  greet(control, host_port{opt.listen.host, port}, !secret.empty(), hv.tls());
  serve_control(control, hv);
  FERRY_INFO("testhv", "control connection closed; stopping all guests");
  stop = true;
  listener.join();
  ::close(lfd);
  hv.shutdown();
  return 0;
}
