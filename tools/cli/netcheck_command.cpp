// `netcheck`: how fast the tunnel between two agents carries migration
// bytes (the stream pumps of --p2p --tunnelled, without hypervisors).

#include <cstdio>

#include <nlohmann/json.hpp>

#include "migration/coordinator.hpp"
#include "messages/all.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/commands.hpp"

namespace po = boost::program_options;

namespace ferry::cli {

namespace {

caf::error netcheck_cmd(context& ctx, const std::vector<std::string>& words) {
  po::options_description desc;
  desc.add_options()("size", po::value<uint64_t>()->default_value(256),
                     "MiB to send (1 to 65536)");
  po::variables_map vm;
  if (auto err = parse_args("netcheck", words, desc, {"DESTURI"}, vm))
    return err;
  auto mib = vm["size"].as<uint64_t>();
  if (mib < 1 || mib > (max_netcheck_bytes >> 20))
    return make_error(errc::invalid_argument,
                      "netcheck: --size must be from 1 to 65536 MiB");
  auto source = ctx.link();
  if (!source)
    return source.error();
  netcheck_request req{vm["DESTURI"].as<std::string>(), mib << 20};
  // The agent gives up by itself when nothing moves for 30 s; this bound
  // is only for an agent that stops answering altogether.
  auto res = rpc::call<netcheck_result>(ctx.system(), (*source)->session,
                                        std::move(req),
                                        phase_timeouts{}.perform);
  if (!res)
    return res.error();
  if (ctx.json()) {
    ctx.out() << nlohmann::json{{"dest_uri", res->dest_uri},
                                {"peer", res->peer},
                                {"tls", res->tls},
                                {"bytes", res->bytes},
                                {"elapsed_us", res->elapsed_us},
                                {"mibps", res->mibps},
                                {"chunk_bytes", res->chunk_bytes},
                                {"window", res->window}}
                   .dump()
              << "\n";
    return caf::none;
  }
  char line[256];
  std::snprintf(line, sizeof(line),
                "%llu MiB to '%s' through the agents' stream pumps (%s) in "
                "%.3f s: %.1f MiB/s, every byte received in order\n",
                static_cast<unsigned long long>(res->bytes >> 20),
                res->peer.c_str(), res->tls ? "mutual TLS" : "plain TCP",
                static_cast<double>(res->elapsed_us) / 1e6, res->mibps);
  ctx.out() << line;
  return caf::none;
}

} // namespace

void add_netcheck_commands(std::vector<command>& t) {
  t.push_back({"netcheck", "[--size MIB] DESTURI",
               "measure the tunnel to another agent (the data path of "
               "--p2p --tunnelled) with real stream pumps",
               netcheck_cmd});
}

} // namespace ferry::cli
