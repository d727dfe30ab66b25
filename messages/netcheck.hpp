#pragma once

// `ferry netcheck`: measures the tunnel between two agents (the path a
// --p2p --tunnelled migration's bytes take) with the same stream pumps,
// and checks what arrives. Source and destination agents exchange these.

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/finite.hpp"
#include "messages/migration.hpp"

namespace ferry {

struct netcheck_collect;
struct netcheck_received;

/// A netcheck's receiving end, to the checking agent's source only.
using netcheck_sink_remote = caf::typed_actor<
  caf::replies_to<netcheck_collect>::with<netcheck_received>>;

/// Client -> source agent (role admin): pump `bytes` to the agent at
/// `dest_uri` and back the figures.
struct netcheck_request {
  std::string dest_uri;
  uint64_t bytes = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, netcheck_request& x) {
  return f(caf::meta::type_name("ferry.netcheck_request"), x.dest_uri,
           x.bytes);
}

/// Smallest and largest transfer a netcheck accepts.
constexpr uint64_t min_netcheck_bytes = uint64_t{1} << 20;
constexpr uint64_t max_netcheck_bytes = uint64_t{64} << 30;

/// Source agent -> destination agent (role peer): set up a sink that
/// expects `bytes`. Answered with a netcheck_cookie.
struct netcheck_prepare {
  std::string check_id; ///< A job id (new_job_id()).
  uint64_t bytes = 0;
  /// The checking agent's source actor, the only one the sink's door
  /// admits: set by the session from the sender, never read from the wire.
  caf::actor requester;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, netcheck_prepare& x) {
  return f(caf::meta::type_name("ferry.netcheck_prepare"), x.check_id,
           x.bytes);
}

/// The destination's sink and the stream pump feeding it.
struct netcheck_cookie {
  netcheck_sink_remote sink;
  pump_remote pump;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, netcheck_cookie& x) {
  return f(caf::meta::type_name("ferry.netcheck_cookie"), x.sink, x.pump);
}

/// Source agent -> sink, once its pump finished: what arrived?
struct netcheck_collect {
  std::string check_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, netcheck_collect& x) {
  return f(caf::meta::type_name("ferry.netcheck_collect"), x.check_id);
}

/// The sink's count: bytes read from its end of the socketpair, and
/// whether every position stamp in them was where it belongs.
struct netcheck_received {
  uint64_t bytes = 0;
  uint64_t stamps_checked = 0;
  bool intact = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, netcheck_received& x) {
  return f(caf::meta::type_name("ferry.netcheck_received"), x.bytes,
           x.stamps_checked, x.intact);
}

/// Source agent -> client.
struct netcheck_result {
  std::string dest_uri;
  std::string peer;        ///< The destination agent's proven name.
  bool tls = false;        ///< The agent-to-agent link is mutual TLS.
  uint64_t bytes = 0;      ///< Sent, and received intact.
  uint64_t elapsed_us = 0; ///< First byte into the pump to its end.
  double mibps = 0;
  uint64_t chunk_bytes = 0;
  uint32_t window = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, netcheck_result& x) {
  // A double only with finite_on_save/load (messages/finite.hpp: CAF's
  // serializer never returns for an infinite one).
  return f(caf::meta::type_name("ferry.netcheck_result"),
           finite_on_save(x.mibps), x.dest_uri, x.peer, x.tls, x.bytes,
           x.elapsed_us, x.mibps, x.chunk_bytes, x.window,
           finite_on_load(x.mibps));
}

} // namespace ferry
