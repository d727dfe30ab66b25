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

using fd_channel_ptr = std::unique_ptr<fd_channel>;

/// What a source offers: the guest's definition and what the destination
/// does with the guest once it arrived.
struct direct_offer {
  std::string xml;
  bool suspend = false;
  bool persistent = false;
};

// -- source side: these throw the command's error -----------------------------

/// Connects to the destination hypervisor at `uri` and opens a channel,
/// over TLS when we have certificates.
fd_channel_ptr
connect_destination(const std::string& uri,
                    const std::shared_ptr<const tls_context>& tls) {
  auto target = parse_host_port(uri);
  if (!target)
    fail("GenericError", error_text(target.error()));
  std::string err;
  int fd = net::tcp_connect(*target, connect_timeout_ms, err);
  if (fd < 0)
    fail("GenericError", "cannot reach the destination hypervisor: " + err);
  net::tune_data_socket(fd);
  auto ch = open_channel(fd, tls, false, handshake_timeout_ms,
                         handshake_timeout_ms, err);
  if (!ch)
    fail("GenericError", "cannot open a channel to the destination "
                         "hypervisor: " + err
                           + " (does it run without certificates?)");
  return ch;
}

/// Proves the shared secret to the destination and requires its proof
/// back, before anything of the guest leaves (see the top of this file).
void authenticate_destination(channel& ch, const std::string& secret,
                              bool tls) {
  std::string theirs(nonce_size, '\0');
  if (!ch.read_exact(theirs.data(), theirs.size()))
    fail("GenericError",
         "destination hypervisor handshake: " + ch.error()
           + (tls ? std::string{}
                  : " (if it uses TLS, this agent needs certificates too)"));
  auto ours = crypto::random_bytes(nonce_size);
  auto mac = prove(secret, source_proof, theirs, ours);
  char verdict = 0;
  if (!ch.write_all(ours.data(), ours.size())
      || !ch.write_all(mac.data(), mac.size()) || !ch.read_exact(&verdict, 1)
      || verdict != 'A')
    fail("AuthenticationFailed",
         "the destination hypervisor refused our shared secret");
  std::string their_mac(mac.size(), '\0');
  if (!ch.read_exact(their_mac.data(), their_mac.size())
      || !crypto::equal_secret(their_mac,
                               prove(secret, destination_proof, ours, theirs)))
    fail("AuthenticationFailed",
         "the destination hypervisor did not prove the shared secret; "
         "nothing was sent to it");
}

/// Offers the guest's definition (from the command's arguments) and
/// requires the destination's consent.
void offer_definition(channel& ch, const json& args) {
  auto offer = json{{"xml", str_arg(args, "xml")},
                    {"suspend", bool_arg(args, "suspend", false)},
                    {"persistent", bool_arg(args, "persistent", false)}}
                 .dump();
  char len[4];
  stream::put_u32(len, static_cast<uint32_t>(offer.size()));
  if (!ch.write_all(len, 4) || !ch.write_all(offer.data(), offer.size())
      || !ch.read_exact(len, 4))
    fail("GenericError", "destination hypervisor handshake: " + ch.error());
  auto answer_len = stream::get_u32(len);
  if (answer_len > 65536)
    fail("GenericError", "destination hypervisor sent an oversized answer");
  std::string answer(answer_len, '\0');
  if (!ch.read_exact(answer.data(), answer.size()))
    fail("GenericError", "destination hypervisor handshake: " + ch.error());
  auto reply = json::parse(answer, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    fail("GenericError", "destination hypervisor sent garbage");
  if (reply.contains("error"))
    fail("GenericError", "destination hypervisor: "
                           + reply["error"].get<std::string>());
}

// -- destination side ---------------------------------------------------------

/// Opens the channel of a source that connected to us and checks its proof
/// of the shared secret, then proves ours. Null when refused; a source
/// without the secret gets `N` and learns nothing of ours.
fd_channel_ptr accept_source(int fd,
                             const std::shared_ptr<const tls_context>& tls,
                             const std::string& secret) {
  std::string why;
  auto ch = open_channel(fd, tls, true, handshake_timeout_ms,
                         handshake_timeout_ms, why);
  if (!ch) {
    FERRY_WARN("testhv", "refused a direct migration: " << why);
    return nullptr;
  }
  auto ours = crypto::random_bytes(nonce_size);
  std::string theirs(nonce_size, '\0');
  std::string mac(32, '\0');
  if (!ch->write_all(ours.data(), ours.size())
      || !ch->read_exact(theirs.data(), theirs.size())
      || !ch->read_exact(mac.data(), mac.size()))
    return nullptr;
  if (secret.empty()
      || !crypto::equal_secret(mac, prove(secret, source_proof, ours, theirs))) {
    FERRY_WARN("testhv", "refused a direct migration: bad shared secret");
    char no = 'N';
    ch->write_all(&no, 1);
    return nullptr;
  }
  char yes = 'A';
  auto answer_mac = prove(secret, destination_proof, theirs, ours);
  if (!ch->write_all(&yes, 1)
      || !ch->write_all(answer_mac.data(), answer_mac.size()))
    return nullptr;
  return ch;
}

/// Reads the source's offer: false on a broken connection or one larger
/// than any definition (no answer then).
bool read_offer(channel& ch, std::string& offer) {
  char len[4];
  if (!ch.read_exact(len, 4))
    return false;
  auto offer_len = stream::get_u32(len);
  if (offer_len > 1024 * 1024)
    return false;
  offer.assign(offer_len, '\0');
  return ch.read_exact(offer.data(), offer.size());
}

/// Parses the offer; false when it is not an object with a string `xml`.
bool parse_offer(const std::string& text, direct_offer& out) {
  auto req = json::parse(text, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("xml")
      || !req["xml"].is_string())
    return false;
  out.xml = req["xml"].get<std::string>();
  out.suspend = req.value("suspend", false);
  out.persistent = req.value("persistent", false);
  return true;
}

/// Answers the offer: `{"ok": true}` or `{"error": …}`, length-prefixed.
bool answer(channel& ch, const json& j) {
  auto text = j.dump();
  char len[4];
  stream::put_u32(len, static_cast<uint32_t>(text.size()));
  return ch.write_all(len, 4) && ch.write_all(text.data(), text.size());
}

} // namespace

json hypervisor::migrate_direct(const json& args) {
  auto name = str_arg(args, "name");
  auto s = must_find_idle(name);
  auto params = params_from_json(args);
  auto ch = connect_destination(str_arg(args, "uri"), tls_);
  authenticate_destination(*ch, secret_, tls_ != nullptr);
  offer_definition(*ch, args);
  ch->set_timeout_ms(static_cast<int>(params.io_timeout_ms));
  s->in.reset();
  s->out = std::make_unique<outgoing_migration>(s->g, params,
                                                migration_events(name, "out"));
  s->out->start(std::move(ch), true);
  return json::object();
}

void hypervisor::serve_direct(int fd) {
  auto ch = accept_source(fd, tls_, secret_);
  std::string text;
  if (!ch || !read_offer(*ch, text))
    return;
  direct_offer offer;
  if (!parse_offer(text, offer)) {
    answer(*ch, {{"error", "malformed offer"}});
    return;
  }
  auto def = parse_domain_xml(offer.xml);
  if (!def) {
    answer(*ch, {{"error", error_text(def.error())}});
    return;
  }
  auto s = admit_incoming(*ch, *def);
  if (!s)
    return;
  emit("DOMAIN_INCOMING", {{"name", def->name}, {"xml", offer.xml},
                           {"status", "active"}});
  ch->set_timeout_ms(30000);
  s->in->start(std::move(ch), true);
  s->in->join();
  report_incoming(*s, def->name, offer.xml, offer.suspend, offer.persistent);
}

hypervisor::slot_ptr hypervisor::admit_incoming(channel& ch,
                                                const domain_definition& def) {
  auto s = std::make_shared<slot>();
  try {
    s->g = std::make_shared<guest>(def, false);
  } catch (const std::bad_alloc&) {
    answer(ch, {{"error", "out of memory for guest RAM"}});
    return nullptr;
  }
  s->in = std::make_unique<incoming_migration>(
    s->g, migration_events(def.name, "in"));
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!slots_.emplace(def.name, s).second) {
      answer(ch,
             {{"error", "domain '" + def.name + "' is already active here"}});
      return nullptr;
    }
  }
  if (!answer(ch, {{"ok", true}})) {
    std::lock_guard<std::mutex> guard{mtx_};
    slots_.erase(def.name);
    return nullptr;
  }
  return s;
}

void hypervisor::report_incoming(slot& s, const std::string& name,
                                 const std::string& xml, bool suspend,
                                 bool persistent) {
  auto st = s.in->stats();
  if (st.status == mig_status::completed) {
    if (!suspend)
      s.g->resume();
    emit("DOMAIN_INCOMING", {{"name", name}, {"xml", xml},
                             {"status", "completed"},
                             {"running", !suspend},
                             {"persistent", persistent}});
    return;
  }
  bool unknown = st.error.rfind("outcome unknown", 0) == 0;
  if (!unknown) {
    std::lock_guard<std::mutex> guard{mtx_};
    slots_.erase(name);
  }
  emit("DOMAIN_INCOMING", {{"name", name}, {"xml", xml},
                           {"status", unknown ? "unknown" : "failed"},
                           {"error-desc", st.error}});
}

} // namespace ferry::testhv
