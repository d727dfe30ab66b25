// `event`: wait for domain lifecycle events, like `virsh event --loop`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "messages/all.hpp"
#include "transport/door/interface.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/commands.hpp"

namespace po = boost::program_options;

namespace ferry::cli {

namespace {

nlohmann::json to_json(const domain_event& ev) {
  return {{"event", "lifecycle"},          {"domain", ev.domain},
          {"kind", to_string(ev.kind)},    {"job", ev.job_id},
          {"agent", ev.agent},             {"unix_ms", ev.unix_ms},
          {"detail", ev.detail}};
}

/// virsh's line: `event 'lifecycle' for domain 'web1': stopped-migrated`,
/// then the job and the detail.
void print_event(std::ostream& out, const domain_event& ev) {
  out << "event 'lifecycle' for domain '" << ev.domain
      << "': " << to_string(ev.kind);
  if (!ev.job_id.empty())
    out << " (job " << ev.job_id << ")";
  if (!ev.detail.empty())
    out << ": " << ev.detail;
  out << "\n";
}

caf::error event_cmd(context& ctx, const std::vector<std::string>& words) {
  po::options_description desc;
  desc.add_options()
    ("loop", po::bool_switch(), "keep waiting after the first event")
    ("count", po::value<uint64_t>(), "exit after N events")
    ("timeout", po::value<uint32_t>(), "wait at most S seconds")
    ("domain", po::value<std::string>(), "only events of this domain");
  po::variables_map vm;
  if (auto err = parse_args("event", words, desc, {}, vm))
    return err;
  bool loop = vm["loop"].as<bool>();
  std::optional<uint64_t> count;
  if (vm.count("count")) {
    count = vm["count"].as<uint64_t>();
    if (*count == 0)
      return make_error(errc::invalid_argument,
                        "event: --count must be at least 1");
  } else if (!loop) {
    count = 1;
  }
  std::optional<std::chrono::seconds> timeout;
  if (vm.count("timeout")) {
    timeout = std::chrono::seconds{vm["timeout"].as<uint32_t>()};
    if (timeout->count() == 0)
      return make_error(errc::invalid_argument,
                        "event: --timeout must be at least 1 second");
  }
  std::string domain = vm.count("domain") ? vm["domain"].as<std::string>()
                                          : std::string{};
  if (domain.size() > max_event_name_len)
    return make_error(errc::invalid_argument, "event: domain name too long");
  auto link = ctx.link();
  if (!link)
    return link.error();
  auto session = (*link)->session;
  caf::scoped_actor self{ctx.system()};
  self->monitor(session);
  // The session relays the events to us: our door admits it alone.
  scoped_door door{ctx.system(),
                   {self->id(), session.node(), session.id(),
                    accepted_types<event_subscriber_remote>(ctx.system()),
                    false, "event subscriber"}};
  caf::error failure;
  self
    ->request(session, ctx.settings().request_timeout,
              subscribe_events{domain})
    .receive([](bool) {}, [&](caf::error& err) { failure = std::move(err); });
  if (failure)
    return failure;
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                          : std::chrono::steady_clock::time_point::max();
  uint64_t received = 0;
  bool timed_out = false;
  auto on_event = [&](domain_event& ev) {
    ++received;
    if (ctx.json())
      ctx.out() << to_json(ev).dump() << "\n";
    else
      print_event(ctx.out(), ev);
    ctx.out().flush();
  };
  auto on_down = [&](caf::down_msg& msg) {
    if (msg.source == session.address())
      failure = make_error(errc::disconnected,
                           "lost the connection to the agent");
  };
  while (!failure && !timed_out && (!count || received < *count)) {
    if (!timeout) {
      self->receive(on_event, on_down);
      continue;
    }
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      timed_out = true;
      break;
    }
    self->receive(on_event, on_down,
                  caf::after(std::chrono::duration_cast<
                             std::chrono::milliseconds>(left)
                             + std::chrono::milliseconds{1})
                    >> [] {});
  }
  if (failure)
    return failure;
  if (timed_out && count)
    return make_error(errc::timeout,
                      "event: timed out after "
                        + std::to_string(timeout->count()) + " s with "
                        + std::to_string(received) + " of "
                        + std::to_string(*count) + " events");
  if (!ctx.json()) {
    if (timed_out)
      ctx.out() << "event loop timed out\n";
    ctx.out() << "events received: " << received << "\n";
  }
  return caf::none;
}

} // namespace

void add_event_commands(std::vector<command>& t) {
  t.push_back({"event",
               "[--loop] [--count N] [--timeout S] [--domain DOM]",
               "wait for lifecycle events (started-migrated, …) and print "
               "one line each",
               event_cmd});
}

} // namespace ferry::cli
