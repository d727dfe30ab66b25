#pragma once

#include <ostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/domain.hpp"

namespace ferry::cli {

nlohmann::json to_json(const domain_info& d);
nlohmann::json to_json(const node_info& n);

/// `list`: a table in virsh's style (name and state).
void print_list(std::ostream& out, const std::vector<domain_info>& doms);
/// `dominfo`: one "Key: value" line per field.
void print_dominfo(std::ostream& out, const domain_info& d);
void print_nodeinfo(std::ostream& out, const node_info& n);

/// Human-readable byte count (KiB, MiB, GiB).
std::string format_bytes(uint64_t bytes);

} // namespace ferry::cli
