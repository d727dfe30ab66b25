#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace ferry {

/// ferry's own error category. Every error that reaches a user carries one of
/// these codes plus a one-line, human-readable text in its context.
enum class errc : uint8_t {
  ok = 0,
  invalid_argument,  ///< Bad flag, option or request field.
  invalid_uri,       ///< A URI that does not parse or names no known scheme.
  invalid_xml,       ///< Domain XML that does not parse or validate.
  no_such_domain,    ///< No domain with that name on this driver.
  domain_exists,     ///< Name or UUID already in use.
  invalid_state,     ///< Operation not valid in the domain's current state.
  hypervisor_error,  ///< The hypervisor (testhv, QEMU) refused or failed.
  unsupported,       ///< The driver or mode cannot do this.
  permission_denied, ///< The ACL denies this request to this identity.
  auth_failed,       ///< Identity proof or shared secret did not verify.
  timeout,           ///< A bounded wait ran out.
  disconnected,      ///< The peer agent or client went away.
  migration_failed,  ///< A migration job failed; the source keeps the domain.
  migration_aborted, ///< The job was aborted on request.
  outcome_unknown,   ///< The commit may or may not have happened.
  not_secure,        ///< --secure and a hop of the data path is unencrypted.
  limit_exceeded,    ///< A configured limit (jobs, sizes, sessions) was hit.
  io_error,          ///< A local file or socket operation failed.
  config_error,      ///< Invalid agent or client configuration.
  stale_message,     ///< Message for an unknown or finished migration id.
  internal,          ///< A bug: something that should not happen.
};

/// Returns a short stable name for `code`, e.g. `no-such-domain`.
const char* to_string(errc code);

/// Builds an error of ferry's category with a one-line explanation.
caf::error make_error(errc code, std::string text);

/// Renders any error (ferry's, CAF's `sec`, or other categories) as one line
/// of text suitable for `error: …` output. Never empty for a non-empty error.
std::string error_text(const caf::error& err);

/// Returns the ferry code of `err`, or `errc::internal` for foreign categories
/// (and `errc::ok` for an empty error).
errc code_of(const caf::error& err);

} // namespace ferry

CAF_ERROR_CODE_ENUM(ferry::errc, "ferry")
