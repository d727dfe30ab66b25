#include "drivers/qemu/qemu_stats.hpp"

#include "drivers/domain_definition.hpp"

namespace ferry {

job_stats parse_query_migrate(const qmp::json& reply) {
  job_stats st;
  if (!reply.is_object())
    return st;
  st.hv_status = reply.value("status", "none");
  auto ram = reply.value("ram", qmp::json::object());
  st.data_total = ram.value("total", uint64_t{0});
  st.data_processed = ram.value("transferred", uint64_t{0});
  st.data_remaining = ram.value("remaining", uint64_t{0});
  st.iteration = ram.value("dirty-sync-count", uint64_t{0});
  // QEMU reports 10^6 bits per second.
  st.mibps = ram.value("mbps", 0.0) * 1e6 / 8 / (1024.0 * 1024.0);
  auto page = ram.value("page-size", guest_page_size);
  st.dirty_rate_mibps = static_cast<double>(
                          ram.value("dirty-pages-rate", uint64_t{0}))
                        * static_cast<double>(page) / (1024.0 * 1024.0);
  st.expected_downtime_ms = reply.value("expected-downtime", uint64_t{0});
  st.downtime_ms = reply.value("downtime", uint64_t{0});
  st.throttle = reply.value("cpu-throttle-percentage", 0u);
  st.error = reply.value("error-desc", "");
  return st;
}

} // namespace ferry
