// ferryd: the ferry agent. One per host; see README and docs/configuration.md.

#include <chrono>
#include <malloc.h>
#include <csignal>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <sys/stat.h>

#include "actors/agent_root.hpp"
#include "config/agent_options.hpp"
#include "drivers/job_journal.hpp"
#include "util/error.hpp"
#include "transport/caf_setup.hpp"
#include "transport/net/net_layer.hpp"
#include "util/faults.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

using namespace ferry;

namespace {

int fail(const std::string& text, int code = 1) {
  std::fprintf(stderr, "ferryd: error: %s\n", text.c_str());
  return code;
}

/// Warns about a private key others can read (the agent still starts).
void check_key_permissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0)
    FERRY_WARN("ferryd", "private key " << path << " is readable by others "
                                           "(mode "
                                        << std::oct << (st.st_mode & 0777)
                                        << "); chmod 600 it");
}

void warn_if_expiring(const identity& id, const std::string& cert) {
  auto left = id.seconds_left();
  if (left < 7 * 86400)
    FERRY_WARN("ferryd", "certificate " << cert << " expires in "
                                        << left / 3600 << " hours");
}

/// SIGHUP: re-reads the certificate, key and CA (a rotation) and uses them
/// for new connections and identity proofs; established sessions keep
/// theirs. Files that fail any start-up check change nothing.
void reload_credentials(const agent_settings& s, identity* id,
                        net_layer* net) {
  if (id == nullptr || net == nullptr || !net->has_tls()) {
    FERRY_INFO("ferryd", "SIGHUP: plain TCP, no certificates to reload");
    return;
  }
  auto fresh = identity::load(s.tls);
  caf::error err = fresh ? net->reload() : fresh.error();
  if (err) {
    FERRY_ERROR("ferryd", "SIGHUP: keeping the current certificate: "
                            << error_text(err));
    return;
  }
  if ((*fresh)->name() != id->name())
    FERRY_WARN("ferryd", "SIGHUP: the certificate's name changes from '"
                           << id->name() << "' to '" << (*fresh)->name()
                           << "'; peers' ACLs must know the new name");
  id->adopt(**fresh);
  check_key_permissions(s.tls.key);
  warn_if_expiring(*id, s.tls.cert);
  FERRY_INFO("ferryd", "SIGHUP: reloaded identity '"
                         << id->name() << "' from " << s.tls.cert
                         << " (expires in " << id->seconds_left() / 86400
                         << " days)");
}

/// SIGHUP: reads the options again (command line and config file) and
/// hands the ACL to the gatekeeper; new logins and every session use it.
/// A configuration that no longer parses changes nothing.
void reload_acl(const std::vector<std::string>& args, const caf::actor& root) {
  auto cmd = parse_agent_options(args);
  if (!cmd) {
    FERRY_ERROR("ferryd", "SIGHUP: keeping the current ACL: "
                            << error_text(cmd.error()));
    return;
  }
  auto& s = cmd->settings;
  FERRY_INFO("ferryd", "SIGHUP: reloaded the ACL (" << s.acl.size()
                                                     << " rule(s)"
                                                     << (s.acl_default.empty()
                                                           ? ", no default"
                                                           : ", a default")
                                                     << ")");
  caf::anon_send(root, acl_update{s.acl, s.acl_default});
}

/// An agent's certificate must be good for serving clients; without
/// clientAuth it cannot open peer-to-peer sessions either.
caf::error check_agent_certificate(const identity& id,
                                   const std::string& cert) {
  if (auto err = id.check_own_use(cert_use::server))
    return make_error(errc::config_error,
                      cert + " cannot serve as an agent's certificate: "
                        + error_text(err));
  if (id.check_own_use(cert_use::client))
    FERRY_WARN("ferryd", cert << " lacks clientAuth: peer-to-peer "
                                 "migrations from this agent will be refused");
  return caf::none;
}

} // namespace

int main(int argc, char** argv) {
  // Tunnelled chunks (256 KiB–1 MiB) are allocated on one thread and freed
  // on another. With glibc's dynamic mmap threshold they soon come from
  // the arenas and fragment them, and the agent's RSS grew with every
  // tunnelled migration (ferry-stress). A fixed threshold keeps them
  // mmapped: each one goes back to the OS when it is freed.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  // glibc gives each busy thread its own arena (16 here: scheduler,
  // middleman, detached drivers and pumps); memory freed in one stays
  // there, half-empty pages and all. The agent's hot paths are message
  // passing, not allocation, so two arenas cost nothing measurable and
  // bound that slack: a 10-minute ferry-stress soak (3606 migrations)
  // grew RSS 8.5% instead of 12% (docs/recovery.md).
  ::mallopt(M_ARENA_MAX, 2);
  const std::vector<std::string> args{argv + 1, argv + argc};
  auto cmd = parse_agent_options(args);
  if (!cmd)
    return fail(error_text(cmd.error()), 2);
  if (cmd->exit_early) {
    std::fputs(cmd->text.c_str(), stdout);
    return 0;
  }
  auto& s = cmd->settings;
  log::level lvl = log::level::info;
  log::parse_level(s.log_level, lvl);
  log::setup(lvl, "ferryd[" + s.name + "]");
  if (auto err = files::make_dirs(s.state_dir))
    return fail(error_text(err));
  if (s.fault_injection) {
    faults::enable(true);
    FERRY_WARN("ferryd", "fault injection is enabled: admins can make this "
                         "agent fail, crash or freeze on purpose");
  }
  std::shared_ptr<identity> id;
  if (!s.insecure_tcp) {
    auto loaded = identity::load(s.tls);
    if (!loaded)
      return fail(error_text(loaded.error()), 2);
    id = *loaded;
    if (auto err = check_agent_certificate(*id, s.tls.cert))
      return fail(error_text(err), 2);
    check_key_permissions(s.tls.key);
    warn_if_expiring(*id, s.tls.cert);
    FERRY_INFO("ferryd", "identity '" << id->name() << "' from " << s.tls.cert);
  } else {
    FERRY_WARN("ferryd", "plain TCP (--insecure-tcp): no encryption and no "
                         "proven identities; the ACL judges names clients "
                         "merely claim");
  }
  if (s.acl.empty() && s.acl_default.empty())
    FERRY_WARN("ferryd", "no --acl rule and no --acl-default: every login "
                         "will be refused (docs/security.md, \"Roles\")");
  // Signals are taken synchronously by the main thread only; every thread
  // CAF starts inherits this mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // The job journal, read before anything runs: recovery replays it.
  auto journal = std::make_shared<job_journal>(s.state_dir + "/jobs",
                                               s.limits.journal_keep);
  if (auto err = journal->open())
    return fail(error_text(err));
  journal->prune();

  caf::actor_system_config cfg;
  configure_caf(cfg, s.tls, {s.heartbeat, s.connection_timeout});
  caf::actor_system sys{cfg};
  // Our own transport for BASP (mutual TLS unless --insecure-tcp, and the
  // door every message passes); declared after `sys`, so it stops first.
  net_layer::options net_opts;
  net_opts.handshake_timeout
    = std::chrono::milliseconds{s.limits.handshake_timeout_ms};
  net_opts.limits.login_deadline
    = std::chrono::milliseconds{s.limits.login_timeout_ms};
  net_opts.limits.max_unauthenticated = s.limits.max_pending_connections;
  net_opts.limits.max_unauthenticated_per_address
    = s.limits.max_pending_per_address;
  net_opts.max_pending_handshakes = s.limits.max_pending_connections;
  net_opts.max_pending_handshakes_per_address
    = s.limits.max_pending_per_address;
  auto layer = net_layer::start(sys, s.insecure_tcp ? nullptr : &s.tls,
                                net_opts);
  if (!layer)
    return fail(error_text(layer.error()), 2);
  std::unique_ptr<net_layer> net = std::move(*layer);
  std::promise<std::pair<caf::error, uint16_t>> ready;
  auto started = ready.get_future();
  auto root = sys.spawn(agent_root, s, id, journal,
                        [&ready](const caf::error& err, uint16_t port) {
                          ready.set_value({err, port});
                        });
  auto [err, port] = started.get();
  if (err) {
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    return fail(error_text(err));
  }
  FERRY_INFO("ferryd", "agent " << s.name << " ready on port " << port);

  caf::scoped_actor self{sys};
  self->monitor(root);
  bool root_alive = true;
  for (;;) {
    timespec tick{0, 100 * 1000 * 1000};
    siginfo_t info{};
    int sig = sigtimedwait(&signals, &info, &tick);
    if (sig == SIGHUP) {
      reload_credentials(s, id.get(), net.get());
      reload_acl(args, root);
    } else if (sig > 0) {
      FERRY_INFO("ferryd", "received " << (sig == SIGTERM ? "SIGTERM"
                                                          : "SIGINT")
                                       << ", shutting down");
      break;
    }
    self->receive([&](caf::down_msg&) { root_alive = false; },
                  caf::after(std::chrono::milliseconds{0}) >> [] {});
    if (!root_alive) {
      FERRY_ERROR("ferryd", "the agent's root actor stopped");
      return 1;
    }
  }
  caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  self->wait_for(root);
  // Only `self` may still run; see settle_actors for why this matters.
  settle_actors(sys, 1);
  FERRY_INFO("ferryd", "stopped");
  return 0;
}
