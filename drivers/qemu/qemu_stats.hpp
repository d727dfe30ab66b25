#pragma once

#include "drivers/qmp/qmp_client.hpp"
#include "messages/migration.hpp"

namespace ferry {

/// Reads QEMU's `query-migrate` reply into ferry's job statistics: status,
/// RAM transferred/remaining/total, throughput (QEMU's `mbps` is megabits
/// per second), dirty rate (pages/s times page size), `dirty-sync-count`
/// as the pass, expected and final downtime, CPU throttle and error.
job_stats parse_query_migrate(const qmp::json& reply);

} // namespace ferry
