#include "transport/door/harden.hpp"

#include <map>
#include <string>

#include <caf/sec.hpp>

#include "actors/gatekeeper.hpp"
#include "config/agent_settings.hpp"
#include "messages/all.hpp"
#include "tests/unit/actors/actor_fixture.hpp"

using namespace ferry;
using namespace ferry_test;

namespace {

/// The smallest hardened actor: it understands one request, `int` -> `int`.
caf::behavior hardened_echo(caf::event_based_actor* self) {
  harden(self, "test");
  return {
    [](int x) { return x + 1; },
  };
}

/// The same without hardening, to show what hardening changes.
caf::behavior plain_echo(caf::event_based_actor*) {
  return {
    [](int x) { return x + 1; },
  };
}

bool is_sec(const caf::error& err, caf::sec code) {
  return err.category() == caf::atom("system")
         && err.code() == static_cast<uint8_t>(code);
}

class hardening : public actor_fixture {};

} // namespace

TEST_F(hardening, unexpected_request_gets_an_error_reply) {
  auto echo = spawn(hardened_echo);
  auto life = watch(echo);
  auto res = request<int>(echo, std::string{"what is this"});
  run();
  ASSERT_TRUE(res->arrived) << "the requester would wait for its timeout";
  EXPECT_FALSE(res->value);
  EXPECT_TRUE(is_sec(res->error, caf::sec::unexpected_message))
    << to_string(res->error);
  EXPECT_FALSE(life->down);
  // The actor still serves what it understands.
  auto ok = request<int>(echo, 41);
  run();
  ASSERT_TRUE(ok->ok()) << to_string(ok->error);
  EXPECT_EQ(*ok->value, 42);
}

TEST_F(hardening, unexpected_async_message_is_dropped_without_reply) {
  auto echo = spawn(hardened_echo);
  auto life = watch(echo);
  std::shared_ptr<inbox> box;
  auto sender = probe(box);
  run();
  caf::send_as(sender, echo, std::string{"stray"});
  caf::send_as(sender, echo, 1.5);
  run();
  EXPECT_TRUE(box->messages.empty())
    << "the hardened actor answered an async message: "
    << to_string(box->messages.front());
  EXPECT_FALSE(life->down);
  // An async message it does understand is handled, and its (non-empty)
  // result goes back: the probe sees that, so it does see replies.
  caf::send_as(sender, echo, 1);
  run();
  EXPECT_EQ(box->count<int>(), 1u);
}

TEST_F(hardening, error_message_does_not_kill_the_actor) {
  auto echo = spawn(hardened_echo);
  auto plain = spawn(plain_echo);
  auto echo_life = watch(echo);
  auto plain_life = watch(plain);
  std::shared_ptr<inbox> box;
  auto sender = probe(box);
  run();
  auto forged = make_error(errc::internal, "forged by a hostile peer");
  caf::send_as(sender, echo, forged);
  send(echo, forged);
  caf::send_as(sender, plain, forged);
  run();
  EXPECT_FALSE(echo_life->down) << to_string(echo_life->reason);
  // Without hardening CAF ends the actor with that error: this is what the
  // test guards against.
  EXPECT_TRUE(plain_life->down);
  EXPECT_TRUE(box->messages.empty());
  auto ok = request<int>(echo, 1);
  run();
  ASSERT_TRUE(ok->ok()) << to_string(ok->error);
  EXPECT_EQ(*ok->value, 2);
}

TEST_F(hardening, the_gatekeeper_survives_forged_and_unknown_messages) {
  // The one published actor: anybody who can connect can send it anything.
  agent_settings settings;
  settings.name = "agent-a";
  settings.drivers = {"test"};
  std::shared_ptr<inbox> box;
  auto silent_peer = probe(box);
  std::map<std::string, caf::actor> drivers{{"test", silent_peer}};
  auto gk = spawn(gatekeeper_actor, settings, identity_ptr{}, drivers,
                  silent_peer, silent_peer, silent_peer);
  auto life = watch(gk);
  send(gk, make_error(errc::internal, "forged"));
  send(gk, caf::make_error(caf::sec::request_timeout));
  auto odd = request<bool>(gk, mig_finish{"0123", true});
  run();
  EXPECT_FALSE(life->down);
  ASSERT_TRUE(odd->arrived);
  EXPECT_TRUE(is_sec(odd->error, caf::sec::unexpected_message))
    << to_string(odd->error);
  auto sessions = request<uint32_t>(gk, get_node_info{});
  run();
  ASSERT_TRUE(sessions->ok()) << to_string(sessions->error);
  EXPECT_EQ(*sessions->value, 0u);
  EXPECT_TRUE(box->messages.empty());
}
