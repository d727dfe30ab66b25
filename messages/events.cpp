#include "messages/events.hpp"

#include <chrono>

#include <caf/send.hpp>

namespace ferry {

namespace {

void clamp(std::string& x, size_t max) {
  if (x.size() > max)
    x.resize(max);
}

} // namespace

void publish_event(const caf::actor& bus, std::string domain,
                   lifecycle_event kind, std::string job_id,
                   std::string detail) {
  if (!bus)
    return;
  domain_event ev;
  ev.domain = std::move(domain);
  ev.kind = kind;
  ev.job_id = std::move(job_id);
  ev.detail = std::move(detail);
  clamp(ev.domain, max_event_name_len);
  clamp(ev.job_id, max_event_job_len);
  clamp(ev.detail, max_event_detail_len);
  ev.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  caf::anon_send(bus, std::move(ev));
}

} // namespace ferry
