// libFuzzer target: ferry's message types (messages/*.hpp) deserialized from
// arbitrary bytes with CAF 0.17's binary_deserializer, as BASP does with what
// a peer sends. The first byte picks a type (or, past the table, a whole
// type-erased caf::message through an actor system with ferry's types).
// Whatever deserializes must serialize back to bytes that deserialize to the
// same value, and goes through the checks agents apply to it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>

#include "drivers/domain_definition.hpp"
#include "messages/all.hpp"
#include "migration/rules.hpp"
#include "messages/types.hpp"
#include "transport/uri.hpp"

using namespace ferry;

namespace {

using bytes = caf::binary_serializer::container_type;

// What agents do with received values (only pure checks).
void use(const migration_flags& x) {
  (void) mode_of(x);
  (void) validate_flags(x);
  (void) check_secure(x, data_path{});
  (void) check_secure(x, data_path{false, true, true});
  (void) parse_agent_uri(x.dest_uri);
  (void) parse_hypervisor_uri(x.dest_uri);
  (void) parse_migrate_uri(x.migrate_uri);
}
void use(const migrate_request& x) {
  use(x.flags);
}
void use(const mig_begin& x) {
  use(x.flags);
}
void use(const begin_cookie& x) {
  (void) parse_domain_xml(x.xml);
}
void use(const mig_prepare& x) {
  use(x.flags);
  (void) parse_domain_xml(x.xml);
}
void use(const define_domain& x) {
  (void) parse_domain_xml(x.xml);
}
void use(const job_stats& x) {
  (void) to_string(x.phase);
}
template <class T>
void use(const T&) {
}

caf::actor_system& system();

template <class T>
bytes save(T& x) {
  bytes buf;
  caf::binary_serializer sink{system(), buf};
  if (sink(x))
    std::abort(); // a value we just loaded must save
  return buf;
}

template <class T>
void run(const char* data, size_t size) {
  T x;
  caf::binary_deserializer src{system(), data, size};
  if (src(x))
    return;
  use(x);
  auto first = save(x);
  T y;
  caf::binary_deserializer again{system(), first.data(), first.size()};
  if (again(y) || again.remaining() != 0 || save(y) != first)
    std::abort(); // save and load disagree
}

using runner = void (*)(const char*, size_t);

const runner runners[] = {
  run<migration_flags>, run<job_stats>,      run<migrate_request>,
  run<migration_result>, run<mig_begin>,     run<begin_cookie>,
  run<mig_prepare>,     run<prepare_cookie>, run<mig_perform>,
  run<mig_finish>,      run<finish_cookie>,  run<mig_confirm>,
  run<mig_query_outcome>, run<mig_outcome>,  run<job_control>,
  run<job_outcome>,     run<pump_hello>,     run<pump_chunk>,
  run<pump_ack>,        run<pump_eof>,       run<hello>,
  run<challenge>,       run<proof>,          run<welcome>,
  run<domain_info>,     run<driver_info>,    run<node_info>,
  run<domain_digest>,   run<list_domains>,   run<define_domain>,
  run<domain_op>,       run<get_domain_info>, run<get_domain_xml>,
  run<get_domain_digest>, run<get_node_info>, run<get_driver_info>,
  run<arm_fault>,       run<introspect>,     run<session_summary>,
  run<agent_snapshot>,  run<domain_event>,   run<subscribe_events>,
  run<netcheck_request>, run<netcheck_prepare>, run<netcheck_cookie>,
  run<netcheck_collect>, run<netcheck_received>, run<netcheck_result>,
};

constexpr size_t runner_count = sizeof(runners) / sizeof(runners[0]);

/// An actor system with ferry's types, as every ferry process has; made once
/// and never torn down.
caf::actor_system& system() {
  static auto* sys = [] {
    auto* cfg = new caf::actor_system_config;
    add_message_types(*cfg);
    cfg->set("scheduler.max-threads", 1);
    cfg->set("logger.console", caf::atom("none"));
    return new caf::actor_system{*cfg};
  }();
  return *sys;
}

void run_message(const char* data, size_t size) {
  caf::message msg;
  caf::binary_deserializer src{system(), data, size};
  if (src(msg))
    return;
  (void) to_string(msg);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto body = reinterpret_cast<const char*>(data + 1);
  if (data[0] < runner_count)
    runners[data[0]](body, size - 1);
  else
    run_message(body, size - 1);
  return 0;
}
