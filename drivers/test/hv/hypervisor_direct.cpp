// The test hypervisor's direct migration (`--direct`): the source
// hypervisor connects to the destination hypervisor's own port, both prove
// the shared secret to each other, the source offers the definition and
// streams; the destination agent takes no part. Over mutual TLS when the
// hypervisors have their agents' certificates.
//
//     destination                          source
//        nonce_d (32 B) ─────────────────────>
//        <──────── nonce_s (32 B), HMAC(secret, "source" · nonce_d · nonce_s)
//        'A', HMAC(secret, "destination" · nonce_s · nonce_d) ──>  checked:
//        <──────── offer (definition), then the stream       only then
//
// The labels differ, so neither side's proof can be reflected as the
// other's, and the source sends nothing of the guest (not even its
// definition) to a destination that did not prove the secret.

#include "drivers/test/hv/hypervisor.hpp"

#include "drivers/test/hv/command_args.hpp"
#include "drivers/test/hv/hypervisor_slot.hpp"
#include "drivers/test/hv/stream_format.hpp"
#include "drivers/test/hv/tls_channel.hpp"
#include "util/error.hpp"
#include "util/crypto.hpp"
#include "util/log.hpp"
#include "util/net.hpp"

namespace ferry::testhv {

using namespace detail;

namespace {

constexpr const char* source_proof = "ferry-testhv-direct-source:";
constexpr const char* destination_proof = "ferry-testhv-direct-destination:";
constexpr size_t nonce_size = 32;

std::string prove(const std::string& secret, const char* label,
                  const std::string& a, const std::string& b) {
  return crypto::hmac_sha256(secret, label + a + b);
}

} // namespace

json hypervisor::migrate_direct(const json& args) {
  auto name = str_arg(args, "name");
  auto s = must_find_idle(name);
  auto params = params_from_json(args);
  auto target = parse_host_port(str_arg(args, "uri"));
  if (!target)
    fail("GenericError", error_text(target.error()));
  std::string err;
  int fd = net::tcp_connect(*target, connect_timeout_ms, err);
  if (fd < 0)
    fail("GenericError", "cannot reach the destination hypervisor: " + err);
  net::tune_data_socket(fd);
  auto ch = open_channel(fd, tls_, false, handshake_timeout_ms,
                         handshake_timeout_ms, err);
  if (!ch)
    fail("GenericError", "cannot open a channel to the destination "
                         "hypervisor: " + err
                           + " (does it run without certificates?)");
  std::string theirs(nonce_size, '\0');
  if (!ch->read_exact(theirs.data(), theirs.size()))
    fail("GenericError",
         "destination hypervisor handshake: " + ch->error()
           + (tls_ ? std::string{}
                   : " (if it uses TLS, this agent needs certificates too)"));
  auto ours = crypto::random_bytes(nonce_size);
  auto mac = prove(secret_, source_proof, theirs, ours);
  char verdict = 0;
  if (!ch->write_all(ours.data(), ours.size())
      || !ch->write_all(mac.data(), mac.size()) || !ch->read_exact(&verdict, 1)
      || verdict != 'A')
    fail("AuthenticationFailed",
         "the destination hypervisor refused our shared secret");
  std::string their_mac(mac.size(), '\0');
  if (!ch->read_exact(their_mac.data(), their_mac.size())
      || !crypto::equal_secret(their_mac,
                               prove(secret_, destination_proof, ours, theirs)))
    fail("AuthenticationFailed",
         "the destination hypervisor did not prove the shared secret; "
         "nothing was sent to it");
  auto offer = json{{"xml", str_arg(args, "xml")},
                    {"suspend", bool_arg(args, "suspend", false)},
                    {"persistent", bool_arg(args, "persistent", false)}}
                 .dump();
  char len[4];
  stream::put_u32(len, static_cast<uint32_t>(offer.size()));
  if (!ch->write_all(len, 4) || !ch->write_all(offer.data(), offer.size())
      || !ch->read_exact(len, 4))
    fail("GenericError", "destination hypervisor handshake: " + ch->error());
  auto answer_len = stream::get_u32(len);
  if (answer_len > 65536)
    fail("GenericError", "destination hypervisor sent an oversized answer");
  std::string answer(answer_len, '\0');
  if (!ch->read_exact(answer.data(), answer.size()))
    fail("GenericError", "destination hypervisor handshake: " + ch->error());
  auto reply = json::parse(answer, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    fail("GenericError", "destination hypervisor sent garbage");
  if (reply.contains("error"))
    fail("GenericError", "destination hypervisor: "
                           + reply["error"].get<std::string>());
  ch->set_timeout_ms(static_cast<int>(params.io_timeout_ms));
  s->in.reset();
  s->out = std::make_unique<outgoing_migration>(s->g, params,
                                                migration_events(name, "out"));
  s->out->start(std::move(ch), true);
  return json::object();
}

void hypervisor::serve_direct(int fd) {
  std::string why;
  auto ch = open_channel(fd, tls_, true, handshake_timeout_ms,
                         handshake_timeout_ms, why);
  if (!ch) {
    FERRY_WARN("testhv", "refused a direct migration: " << why);
    return;
  }
  auto ours = crypto::random_bytes(nonce_size);
  std::string theirs(nonce_size, '\0');
  std::string mac(32, '\0');
  if (!ch->write_all(ours.data(), ours.size())
      || !ch->read_exact(theirs.data(), theirs.size())
      || !ch->read_exact(mac.data(), mac.size()))
    return;
  if (secret_.empty()
      || !crypto::equal_secret(mac, prove(secret_, source_proof, ours, theirs))) {
    FERRY_WARN("testhv", "refused a direct migration: bad shared secret");
    char no = 'N';
    ch->write_all(&no, 1);
    return;
  }
  char len[4];
  char yes = 'A';
  auto answer_mac = prove(secret_, destination_proof, theirs, ours);
  if (!ch->write_all(&yes, 1)
      || !ch->write_all(answer_mac.data(), answer_mac.size())
      || !ch->read_exact(len, 4))
    return;
  auto offer_len = stream::get_u32(len);
  if (offer_len > 1024 * 1024)
    return;
  std::string offer(offer_len, '\0');
  if (!ch->read_exact(offer.data(), offer.size()))
    return;
  auto answer = [&](const json& j) {
    auto text = j.dump();
    stream::put_u32(len, static_cast<uint32_t>(text.size()));
    return ch->write_all(len, 4) && ch->write_all(text.data(), text.size());
  };
  auto req = json::parse(offer, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("xml")
      || !req["xml"].is_string()) {
    answer({{"error", "malformed offer"}});
    return;
  }
  auto xml = req["xml"].get<std::string>();
  bool suspend = req.value("suspend", false);
  bool persistent = req.value("persistent", false);
  auto def = parse_domain_xml(xml);
  if (!def) {
    answer({{"error", error_text(def.error())}});
    return;
  }
  auto s = std::make_shared<slot>();
  try {
    s->g = std::make_shared<guest>(*def, false);
  } catch (const std::bad_alloc&) {
    answer({{"error", "out of memory for guest RAM"}});
    return;
  }
  s->in = std::make_unique<incoming_migration>(
    s->g, migration_events(def->name, "in"));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!slots_.emplace(def->name, s).second) {
      answer({{"error", "domain '" + def->name + "' is already active here"}});
      return;
    }
  }
  if (!answer({{"ok", true}})) {
    std::lock_guard<std::mutex> guard{mtx_};
    slots_.erase(def->name);
    return;
  }
  emit("DOMAIN_INCOMING", {{"name", def->name}, {"xml", xml},
                           {"status", "active"}});
  ch->set_timeout_ms(30000);
  s->in->start(std::move(ch), true);
  s->in->join();
  auto st = s->in->stats();
  if (st.status == mig_status::completed) {
    if (!suspend)
      s->g->resume();
    emit("DOMAIN_INCOMING", {{"name", def->name}, {"xml", xml},
                             {"status", "completed"},
                             {"running", !suspend},
                             {"persistent", persistent}});
    return;
  }
  bool unknown = st.error.rfind("outcome unknown", 0) == 0;
  if (!unknown) {
    std::lock_guard<std::mutex> guard{mtx_};
    slots_.erase(def->name);
  }
  emit("DOMAIN_INCOMING", {{"name", def->name}, {"xml", xml},
                           {"status", unknown ? "unknown" : "failed"},
                           {"error-desc", st.error}});
}

} // namespace ferry::testhv
