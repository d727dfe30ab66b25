#include "migration/rules.hpp"

#include "transport/uri.hpp"
#include "util/error.hpp"
#include "util/names.hpp"

namespace ferry {

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

caf::error bad(const std::string& text) {
  return make_error(errc::invalid_argument, text);
}


} // namespace

std::string mode_of(const migration_flags& f) {
  if (f.direct)
    return "direct";
  if (f.tunnelled)
    return "tunnelled";
  if (f.p2p)
    return "p2p";
  return "managed";
}

caf::error validate_flags(const migration_flags& f) {
  if (f.tunnelled && !f.p2p)
    return bad("--tunnelled requires --p2p: the agents relay the data "
               "between themselves");
  if (f.tunnelled && !f.migrate_uri.empty())
    return bad("a migration URI cannot be used with --tunnelled: the data "
               "goes through the agents");
  if (f.tls && f.tunnelled)
    return bad("--tls encrypts the hypervisors' own connection, which "
               "--tunnelled does not use (the agents' TLS link carries the "
               "data): drop one of them");
  if (f.direct && (f.p2p || f.tunnelled))
    return bad("--direct excludes --p2p and --tunnelled: the hypervisor "
               "itself manages a direct migration");
  if (f.direct && !starts_with(f.dest_uri, "testhv://"))
    return bad("--direct needs a hypervisor URI (testhv://HOST:PORT), got '"
               + f.dest_uri + "'");
  if (!f.direct && starts_with(f.dest_uri, "testhv://"))
    return bad("'" + f.dest_uri + "' is a hypervisor URI: add --direct, or "
               "give the destination agent's URI");
  if (!f.direct && !starts_with(f.dest_uri, "ferry+tls://")
      && !starts_with(f.dest_uri, "ferry+tcp://"))
    return bad("the destination must be an agent URI (ferry+tls://HOST:PORT/"
               "DRIVER), got '" + f.dest_uri + "'");
  if ((f.tunnelled || f.direct) && !f.listen_address.empty())
    return bad("--listen-address is where the destination hypervisor listens "
               "for a native migration; --tunnelled and --direct have none");
  if (!f.listen_address.empty() && !parse_address(f.listen_address))
    return bad("--listen-address: '" + f.listen_address
               + "' is not a host name or address");
  if (f.direct && !f.migrate_uri.empty())
    return bad("a migration URI cannot be used with --direct");
  if (!f.migrate_uri.empty() && !starts_with(f.migrate_uri, "tcp://"))
    return bad("the migration URI must look like tcp://HOST[:PORT], got '"
               + f.migrate_uri + "'");
  if (!f.dname.empty() && !valid_name(f.dname))
    return bad("--dname '" + f.dname
               + "' must be 1-64 letters, digits, '-', '_' or '.'");
  if (f.bandwidth_mibps > 1000000)
    return bad("--bandwidth must be at most 1000000 MiB/s");
  if (f.max_downtime_ms == 0 || f.max_downtime_ms > 600000)
    return bad("the downtime limit must be from 1 to 600000 ms");
  return caf::none;
}

caf::error check_secure(const migration_flags& f, const data_path& path) {
  if (!f.secure)
    return caf::none;
  auto refuse = [&path](const std::string& hop, bool hypervisor) {
    auto why = hypervisor && !path.hint.empty() ? " (" + path.hint + ")"
                                                : std::string{};
    return make_error(errc::not_secure,
                      "--secure: refusing to migrate because the " + hop
                        + " is not encrypted and authenticated" + why);
  };
  if (f.direct) {
    if (!path.hypervisor_direct_tls)
      return refuse("hypervisor-to-hypervisor channel of direct migration",
                    true);
    return caf::none;
  }
  if (f.tunnelled) {
    if (!path.agents_tls)
      return refuse("agent-to-agent link (plain TCP) carrying the tunnel",
                    false);
    return caf::none;
  }
  if (!path.native_tls)
    return refuse("native hypervisor-to-hypervisor data path", true);
  return caf::none;
}

} // namespace ferry
