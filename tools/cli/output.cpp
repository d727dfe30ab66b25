#include "tools/cli/output.hpp"

#include <cstdio>
#include <iomanip>

namespace ferry::cli {

nlohmann::json to_json(const domain_info& d) {
  return {{"name", d.name},
          {"uuid", d.uuid},
          {"state", to_string(d.state)},
          {"memory_bytes", d.memory_bytes},
          {"vcpus", d.vcpus},
          {"persistent", d.persistent},
          {"driver", d.driver},
          {"job", d.job_id},
          {"ignored", d.ignored}};
}

nlohmann::json to_json(const node_info& n) {
  auto drivers = nlohmann::json::array();
  for (auto& d : n.drivers)
    drivers.push_back({{"name", d.name},
                       {"hypervisor_uri", d.hypervisor_uri},
                       {"domains", d.domains},
                       {"active", d.active}});
  return {{"agent", n.agent_name}, {"hostname", n.hostname},
          {"version", n.version},  {"uri", n.listen},
          {"sessions", n.sessions}, {"jobs", n.jobs},
          {"drivers", drivers}};
}

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t{1} << 30))
    std::snprintf(buf, sizeof(buf), "%.2f GiB",
                  static_cast<double>(bytes) / (1 << 30));
  else if (bytes >= (uint64_t{1} << 20))
    std::snprintf(buf, sizeof(buf), "%.2f MiB",
                  static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(buf, sizeof(buf), "%.2f KiB",
                  static_cast<double>(bytes) / 1024);
  return buf;
}

void print_list(std::ostream& out, const std::vector<domain_info>& doms) {
  out << " " << std::left << std::setw(24) << "Name" << "State\n";
  out << std::string(40, '-') << "\n";
  for (auto& d : doms)
    out << " " << std::left << std::setw(24) << d.name << to_string(d.state)
        << "\n";
}

void print_dominfo(std::ostream& out, const domain_info& d) {
  auto line = [&](const char* key, const std::string& value) {
    out << std::left << std::setw(16) << key << value << "\n";
  };
  line("Name:", d.name);
  line("UUID:", d.uuid);
  line("State:", to_string(d.state));
  line("CPU(s):", std::to_string(d.vcpus));
  line("Max memory:", std::to_string(d.memory_bytes / 1024) + " KiB");
  line("Persistent:", d.persistent ? "yes" : "no");
  line("Driver:", d.driver);
  if (!d.job_id.empty())
    line("Migration job:", d.job_id);
}

void print_nodeinfo(std::ostream& out, const node_info& n) {
  auto line = [&](const char* key, const std::string& value) {
    out << std::left << std::setw(16) << key << value << "\n";
  };
  line("Agent:", n.agent_name);
  line("Host name:", n.hostname);
  line("Version:", n.version);
  line("URI:", n.listen);
  line("Sessions:", std::to_string(n.sessions));
  line("Jobs:", std::to_string(n.jobs));
  for (auto& d : n.drivers) {
    line("Driver:", d.name + " (" + std::to_string(d.active) + " active of "
                      + std::to_string(d.domains) + ")");
    line("  Hypervisor:", d.hypervisor_uri.empty() ? "-" : d.hypervisor_uri);
  }
}

} // namespace ferry::cli
