#pragma once

#include <caf/scheduled_actor.hpp>

namespace ferry {

/// Makes an actor robust against messages it does not expect, whoever sends
/// them (a hostile peer, or a stray reply):
/// - an unexpected *request* gets a `sec::unexpected_message` error back, so
///   the requester fails fast instead of timing out;
/// - any other unexpected message is dropped (never answered, so two actors
///   cannot bounce errors at each other);
/// - an error *message* is logged, not fatal (CAF's default would make the
///   actor quit, e.g. a gatekeeper killed by one forged error from a peer).
void harden(caf::scheduled_actor* self, const char* component);

} // namespace ferry
