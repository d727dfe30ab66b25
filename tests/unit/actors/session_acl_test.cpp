#include "actors/session.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/gatekeeper.hpp"
#include "config/agent_settings.hpp"
#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"
#include "tests/unit/actors/fakes.hpp"
#include "transport/acl.hpp"

using namespace ferry;
using namespace ferry_test;
using namespace std::chrono_literals;

namespace {

/// What the actors behind a session (driver, root, job manager) were
/// asked: `where:what` lines, plus the driver field of job requests.
struct backend_log {
  std::vector<std::string> lines;
  std::vector<std::string> drivers;
  /// The coordinator field of each begin and prepare, as it arrived.
  std::vector<caf::actor> coordinators;
};

/// Answers every request a session forwards with a default value.
caf::behavior fake_backend(caf::event_based_actor*, std::string where,
                           std::shared_ptr<backend_log> log) {
  auto note = [where, log](const std::string& what) {
    log->lines.push_back(where + ":" + what);
  };
  return {
    [note](const list_domains&) {
      note("list_domains");
      return std::vector<domain_info>{};
    },
    [note](const get_domain_info&) {
      note("get_domain_info");
      return domain_info{};
    },
    [note](const get_domain_xml&) {
      note("get_domain_xml");
      return std::string{"<domain/>"};
    },
    [note](const get_domain_digest&) {
      note("get_domain_digest");
      return domain_digest{};
    },
    [note](const get_node_info&) {
      note("get_node_info");
      return node_info{};
    },
    [note](const define_domain&) {
      note("define_domain");
      return domain_info{};
    },
    [note](const domain_op& r) {
      note(std::string{"domain_op:"} + to_string(r.verb));
      return domain_info{};
    },
    [note, log](const migrate_request& r) {
      note("migrate_request");
      log->drivers.push_back(r.driver);
      return migration_result{};
    },
    [note, log](const mig_begin& r) {
      note("mig_begin");
      log->drivers.push_back(r.driver);
      log->coordinators.push_back(r.coordinator);
      return begin_cookie{};
    },
    [note, log](const mig_prepare& r) {
      note("mig_prepare");
      log->drivers.push_back(r.driver);
      log->coordinators.push_back(r.coordinator);
      return prepare_cookie{};
    },
    [note](const subscribe_events&) {
      note("subscribe_events");
      return true;
    },
    [note](const mig_query_outcome&) {
      note("mig_query_outcome");
      return mig_outcome{};
    },
    [note](const netcheck_request&) {
      note("netcheck_request");
      return netcheck_result{};
    },
    [note](const netcheck_prepare&) {
      note("netcheck_prepare");
      return netcheck_cookie{};
    },
    [note, log](const job_control& r) {
      note("job_control");
      log->drivers.push_back(r.driver);
      return job_stats{};
    },
  };
}

/// Roles as the ACL gives them to `alice` holding the named rule roles.
std::vector<role> roles_of(std::vector<std::string> names) {
  if (names.empty())
    return {};
  return acl{{acl_rule{"alice", std::move(names)}}}.roles_for("alice");
}

class session_acl : public actor_fixture {
protected:
  session_acl() {
    driver = spawn(fake_backend, std::string{"driver"}, backend);
    root = spawn(fake_backend, std::string{"root"}, backend);
    jobs = spawn(fake_backend, std::string{"jobs"}, backend);
    events = spawn(fake_backend, std::string{"events"}, backend);
    client = probe(client_box);
  }

  caf::actor session_for(std::vector<role> roles) {
    session_binding b;
    b.identity = "alice";
    b.roles = std::move(roles);
    b.driver_name = "test";
    b.driver = driver;
    b.root = root;
    b.jobs = jobs;
    b.events = events;
    b.client = client;
    return spawn(session_actor, std::move(b));
  }

  /// Sends `req` through `session`; none if it was answered with a value.
  template <class T, class Handle, class Request>
  caf::error ask(const Handle& session, Request req) {
    auto res = request<T>(caf::actor_cast<caf::actor>(session), std::move(req));
    run();
    if (!res->arrived)
      return make_error(errc::internal, "no answer at all");
    return res->value ? caf::error{} : res->error;
  }

  /// One kind of request: how to send it, where it must arrive, and which
  /// roles allow it.
  struct kind {
    std::string what; ///< The backend's line for it.
    std::vector<role> allowed;
    std::function<caf::error(session_acl*, const caf::actor&)> send;
  };

  std::vector<kind> kinds() {
    auto read = std::vector<role>{role::read};
    auto admin = std::vector<role>{role::admin};
    auto peer_or_admin = std::vector<role>{role::peer, role::admin};
    std::vector<kind> out{
      {"driver:list_domains", read,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<std::vector<domain_info>>(s, list_domains{true});
       }},
      {"driver:get_domain_info", read,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<domain_info>(s, get_domain_info{"vm1"});
       }},
      {"driver:get_domain_xml", read,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<std::string>(s, get_domain_xml{"vm1"});
       }},
      {"driver:get_domain_digest", read,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<domain_digest>(s, get_domain_digest{"vm1"});
       }},
      {"root:get_node_info", read,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<node_info>(s, get_node_info{});
       }},
      {"events:subscribe_events", read,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<bool>(s, subscribe_events{"vm1"});
       }},
      {"driver:define_domain", admin,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<domain_info>(s, define_domain{"<domain/>"});
       }},
      {"jobs:migrate_request", admin,
       [](session_acl* t, const caf::actor& s) {
         migrate_request r;
         r.domain = "vm1";
         r.flags.p2p = true;
         return t->ask<migration_result>(s, r);
       }},
      {"jobs:mig_begin", admin,
       [](session_acl* t, const caf::actor& s) {
         mig_begin r;
         r.domain = "vm1";
         return t->ask<begin_cookie>(s, r);
       }},
      {"jobs:mig_prepare", peer_or_admin,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<prepare_cookie>(s, mig_prepare{});
       }},
      {"jobs:mig_query_outcome", peer_or_admin,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<mig_outcome>(s, mig_query_outcome{"00"});
       }},
      {"jobs:job_control", read,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<job_stats>(s, job_control{job_verb::info, "vm1"});
       }},
      {"jobs:netcheck_request", admin,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<netcheck_result>(
           s, netcheck_request{"ferry+tls://h:1/test", 1 << 20});
       }},
      {"jobs:netcheck_prepare", peer_or_admin,
       [](session_acl* t, const caf::actor& s) {
         return t->ask<netcheck_cookie>(s, netcheck_prepare{"00", 1 << 20});
       }},
    };
    for (auto verb : {job_verb::abort, job_verb::set_speed,
                      job_verb::set_downtime})
      out.push_back({"jobs:job_control", admin,
                     [verb](session_acl* t, const caf::actor& s) {
                       return t->ask<job_stats>(s,
                                                job_control{verb, "vm1", 10});
                     }});
    for (auto verb : {domain_verb::start, domain_verb::destroy,
                      domain_verb::suspend, domain_verb::resume,
                      domain_verb::undefine})
      out.push_back({std::string{"driver:domain_op:"} + to_string(verb), admin,
                     [verb](session_acl* t, const caf::actor& s) {
                       return t->ask<domain_info>(s, domain_op{verb, "vm1"});
                     }});
    return out;
  }

  /// Checks every kind of request against a session with `roles`.
  void check_all(const std::vector<role>& roles, const std::string& label) {
    auto session = session_for(roles);
    for (auto& k : kinds()) {
      SCOPED_TRACE(label + ": " + k.what);
      bool allowed = false;
      for (auto r : k.allowed)
        allowed = allowed || acl::has(roles, r);
      backend->lines.clear();
      auto err = k.send(this, session);
      if (allowed) {
        EXPECT_FALSE(err) << error_text(err);
        EXPECT_EQ(backend->lines, std::vector<std::string>{k.what});
      } else {
        EXPECT_EQ(code_of(err), errc::permission_denied) << error_text(err);
        EXPECT_NE(error_text(err).find("'alice'"), std::string::npos)
          << error_text(err);
        EXPECT_TRUE(backend->lines.empty()) << "forwarded a denied request";
      }
    }
  }

  std::shared_ptr<backend_log> backend = std::make_shared<backend_log>();
  std::shared_ptr<inbox> client_box;
  caf::actor driver;
  caf::actor root;
  caf::actor jobs;
  caf::actor events;
  caf::actor client;
};

} // namespace

TEST_F(session_acl, acl_gives_admin_read_too) {
  EXPECT_EQ(roles_of({"admin"}), (std::vector<role>{role::admin, role::read}));
  EXPECT_EQ(roles_of({"peer"}), (std::vector<role>{role::peer}));
}

TEST_F(session_acl, no_role_may_do_nothing) {
  check_all(roles_of({}), "no role");
}

TEST_F(session_acl, read_role) {
  check_all(roles_of({"read"}), "read");
}

TEST_F(session_acl, admin_role) {
  check_all(roles_of({"admin"}), "admin");
}

TEST_F(session_acl, peer_role) {
  check_all(roles_of({"peer"}), "peer");
}

TEST_F(session_acl, read_and_peer_roles) {
  check_all(roles_of({"read", "peer"}), "read+peer");
}

TEST_F(session_acl, denial_names_identity_and_role) {
  auto session = session_for(roles_of({"read"}));
  auto err = ask<domain_info>(session, domain_op{domain_verb::destroy, "vm1"});
  EXPECT_EQ(code_of(err), errc::permission_denied);
  EXPECT_EQ(error_text(err), "permission denied: 'alice' may not destroy "
                             "domains (needs role admin)");
}

TEST_F(session_acl, job_requests_carry_the_sessions_driver) {
  auto session = session_for(roles_of({"admin", "peer"}));
  migrate_request m;
  m.driver = "forged";
  EXPECT_FALSE(ask<migration_result>(session, m));
  mig_begin b;
  b.driver = "forged";
  EXPECT_FALSE(ask<begin_cookie>(session, b));
  mig_prepare p;
  p.driver = "forged";
  EXPECT_FALSE(ask<prepare_cookie>(session, p));
  EXPECT_FALSE(ask<job_stats>(session, job_control{job_verb::info, "vm1", 0,
                                                   "forged"}));
  EXPECT_EQ(backend->drivers,
            (std::vector<std::string>{"test", "test", "test", "test"}));
}

TEST_F(session_acl, the_coordinator_of_a_job_is_the_requests_sender) {
  // Whatever a client writes into begin or prepare, the job's coordinator
  // (the one actor its door will admit) is the actor that asked.
  auto session = session_for(roles_of({"admin", "peer"}));
  std::shared_ptr<inbox> other_box;
  auto other = probe(other_box);
  mig_begin b;
  b.coordinator = other;
  mig_prepare p;
  p.coordinator = other;
  auto asker = spawn([session, b, p](caf::event_based_actor* self) {
    self->request(session, caf::infinite, b).then([](begin_cookie&) {});
    self->request(session, caf::infinite, p).then([](prepare_cookie&) {});
    return caf::behavior{[](const in_context&) {}};
  });
  run();
  ASSERT_EQ(backend->coordinators.size(), 2u);
  EXPECT_EQ(backend->coordinators[0], asker);
  EXPECT_EQ(backend->coordinators[1], asker);
}

TEST_F(session_acl, session_ends_with_its_client) {
  auto session = session_for(roles_of({"admin"}));
  auto life = watch(session);
  EXPECT_FALSE(life->down);
  kill(client);
  EXPECT_TRUE(life->down);
}

// -- the gatekeeper binds sessions to identities and ACL roles -----------------------

namespace {

/// One client's handshake: hello, challenge, proof, welcome.
struct handshake_slot {
  bool done = false;
  std::optional<welcome> w;
  caf::error err;
  uint64_t ticket = 0;
  caf::actor client;
};

/// Sends the proof for `slot`'s ticket from `self`.
void send_proof(caf::event_based_actor* self, const caf::actor& gatekeeper,
                std::shared_ptr<handshake_slot> slot) {
  self->request(gatekeeper, caf::infinite, proof{slot->ticket, ""})
    .then(
      [slot](welcome& w) {
        slot->done = true;
        slot->w = std::move(w);
      },
      [slot](caf::error& err) {
        slot->done = true;
        slot->err = err;
      });
}

/// A client that runs the handshake as one actor (the gatekeeper wants
/// hello and proof from the same actor) and stays alive, as its session
/// ends with it. With `stall`, it stops after the challenge.
caf::behavior handshake_client(caf::event_based_actor* self,
                               caf::actor gatekeeper, std::string name,
                               std::shared_ptr<handshake_slot> slot,
                               bool stall) {
  hello h;
  h.client_name = std::move(name);
  h.client_nonce = std::string(32, 'n');
  self->request(gatekeeper, caf::infinite, h)
    .then(
      [self, gatekeeper, slot, stall](challenge& ch) {
        slot->ticket = ch.ticket;
        if (!stall)
          send_proof(self, gatekeeper, slot);
      },
      [slot](caf::error& err) {
        slot->done = true;
        slot->err = err;
      });
  return {[self](const in_context& x) { x.fn(self); }};
}

class gatekeeper : public session_acl {
protected:
  gatekeeper() {
    settings.name = "agent-b";
    settings.drivers = {"test"};
    settings.insecure_tcp = true;
    settings.acl = {acl_rule{"ops-*", {"admin"}}, acl_rule{"bob", {"read"}},
                    acl_rule{"agent-*", {"peer"}}};
    settings.limits.handshake_timeout_ms = 5000;
    gk = spawn(gatekeeper_actor, settings, identity_ptr{},
               std::map<std::string, caf::actor>{{"test", driver}}, root,
               jobs, events);
  }

  std::shared_ptr<handshake_slot> connect(const std::string& name,
                                          bool stall = false) {
    auto slot = std::make_shared<handshake_slot>();
    slot->client = spawn(handshake_client, gk, name, slot, stall);
    run();
    return slot;
  }

  /// A stalled client sends its proof now.
  void resume(const std::shared_ptr<handshake_slot>& slot) {
    auto gatekeeper = gk;
    inside(slot->client, [gatekeeper, slot](caf::event_based_actor* self) {
      send_proof(self, gatekeeper, slot);
    });
  }

  agent_settings settings;
  caf::actor gk;
};

} // namespace

TEST_F(gatekeeper, sessions_carry_the_identity_and_its_acl_roles) {
  auto bob = connect("bob");
  ASSERT_TRUE(bob->done);
  ASSERT_TRUE(bob->w) << error_text(bob->err);
  EXPECT_EQ(bob->w->identity, "bob");
  EXPECT_EQ(bob->w->agent_name, "agent-b");
  EXPECT_EQ(bob->w->roles, (std::vector<role>{role::read}));
  auto s = bob->w->session;
  EXPECT_FALSE(ask<std::vector<domain_info>>(s, list_domains{}));
  auto err = ask<domain_info>(s, domain_op{domain_verb::destroy, "vm1"});
  EXPECT_EQ(code_of(err), errc::permission_denied);
  EXPECT_NE(error_text(err).find("'bob'"), std::string::npos);
  EXPECT_EQ(code_of(ask<prepare_cookie>(s, mig_prepare{})),
            errc::permission_denied);

  auto peer = connect("agent-a");
  ASSERT_TRUE(peer->w) << error_text(peer->err);
  EXPECT_EQ(peer->w->roles, (std::vector<role>{role::peer}));
  EXPECT_FALSE(ask<prepare_cookie>(peer->w->session, mig_prepare{}));
  EXPECT_EQ(code_of(ask<begin_cookie>(peer->w->session, mig_begin{})),
            errc::permission_denied);

  // No rule names it: no session at all (the ACL fails closed).
  auto stranger = connect("mallory");
  ASSERT_TRUE(stranger->done);
  EXPECT_FALSE(stranger->w);
  EXPECT_EQ(code_of(stranger->err), errc::permission_denied);
  EXPECT_NE(error_text(stranger->err).find("'mallory' holds no role"),
            std::string::npos)
    << error_text(stranger->err);
}

TEST_F(gatekeeper, acl_default_gives_unnamed_identities_its_roles) {
  settings.acl_default = {"read"};
  gk = spawn(gatekeeper_actor, settings, identity_ptr{},
             std::map<std::string, caf::actor>{{"test", driver}}, root, jobs,
             events);
  auto stranger = connect("mallory");
  ASSERT_TRUE(stranger->w) << error_text(stranger->err);
  EXPECT_EQ(stranger->w->roles, (std::vector<role>{role::read}));
  auto ops = connect("ops-1");
  ASSERT_TRUE(ops->w) << error_text(ops->err);
  EXPECT_EQ(ops->w->roles, (std::vector<role>{role::admin, role::read}));
}

TEST_F(gatekeeper, a_client_may_not_claim_the_agents_name) {
  auto mirror = connect("agent-b");
  ASSERT_TRUE(mirror->done);
  EXPECT_FALSE(mirror->w);
  EXPECT_EQ(code_of(mirror->err), errc::auth_failed);
}

TEST_F(gatekeeper, a_hello_flood_drops_the_oldest_unfinished_handshake) {
  // An identity may hold as many unfinished hellos as sessions (four
  // here): a fifth pushes out the first, and anybody else logs in.
  settings.limits.max_sessions_per_peer = 4;
  gk = spawn(gatekeeper_actor, settings, identity_ptr{},
             std::map<std::string, caf::actor>{{"test", driver}}, root, jobs,
             events);
  std::vector<std::shared_ptr<handshake_slot>> flood;
  for (int i = 0; i < 5; ++i)
    flood.push_back(connect("ops-flood", true));
  auto other = connect("ops-1");
  ASSERT_TRUE(other->w) << error_text(other->err);
  resume(flood.front());
  ASSERT_TRUE(flood.front()->done);
  EXPECT_FALSE(flood.front()->w);
  EXPECT_NE(error_text(flood.front()->err).find("expired"), std::string::npos)
    << error_text(flood.front()->err);
  resume(flood.back());
  ASSERT_TRUE(flood.back()->w) << error_text(flood.back()->err);
}

TEST_F(gatekeeper, proof_from_another_actor_is_refused) {
  auto half = connect("ops-1", true);
  ASSERT_NE(half->ticket, 0u);
  auto res = request<welcome>(gk, proof{half->ticket, ""});
  run();
  ASSERT_TRUE(res->arrived);
  EXPECT_EQ(code_of(res->error), errc::auth_failed);
  EXPECT_NE(error_text(res->error).find("another actor"), std::string::npos)
    << error_text(res->error);
}

TEST_F(gatekeeper, unfinished_handshakes_expire) {
  auto in_time = connect("ops-1", true);
  auto too_late = connect("ops-2", true);
  ASSERT_NE(in_time->ticket, 0u);
  ASSERT_NE(too_late->ticket, 0u);
  advance_time(4999ms);
  resume(in_time);
  ASSERT_TRUE(in_time->done);
  ASSERT_TRUE(in_time->w) << error_text(in_time->err);
  EXPECT_EQ(in_time->w->identity, "ops-1");
  advance_time(1ms);
  resume(too_late);
  ASSERT_TRUE(too_late->done);
  EXPECT_FALSE(too_late->w);
  EXPECT_EQ(code_of(too_late->err), errc::auth_failed);
  EXPECT_NE(error_text(too_late->err).find("expired"), std::string::npos)
    << error_text(too_late->err);
}
