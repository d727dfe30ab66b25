#include "tools/cli/commands.hpp"

#include <sstream>

#include <nlohmann/json.hpp>

#include "messages/all.hpp"
#include "tools/cli/args.hpp"
#include "tools/cli/output.hpp"
#include "util/faults.hpp"
#include "util/files.hpp"

namespace po = boost::program_options;

namespace ferry::cli {

namespace {

/// A verb that takes just a domain name and runs `verb` on it.
command domain_verb_command(const char* name, domain_verb verb,
                            const char* summary, const char* done) {
  return {name, "DOM", summary,
          [name, verb, done](context& ctx,
                             const std::vector<std::string>& words)
            -> caf::error {
            po::options_description desc;
            po::variables_map vm;
            if (auto err = parse_args(name, words, desc, {"DOM"}, vm))
              return err;
            auto dom = vm["DOM"].as<std::string>();
            auto res = ctx.call<domain_info>(domain_op{verb, dom});
            if (!res)
              return res.error();
            if (ctx.json())
              ctx.out() << to_json(*res).dump() << "\n";
            else
              ctx.out() << "Domain '" << dom << "' " << done << "\n";
            return caf::none;
          }};
}

/// A verb that takes a domain name and prints what a query returns.
template <class Result, class Request, class Print>
command domain_query_command(const char* name, const char* summary,
                             Print print) {
  return {name, "DOM", summary,
          [name, print](context& ctx,
                        const std::vector<std::string>& words) -> caf::error {
            po::options_description desc;
            po::variables_map vm;
            if (auto err = parse_args(name, words, desc, {"DOM"}, vm))
              return err;
            auto res = ctx.call<Result>(Request{vm["DOM"].as<std::string>()});
            if (!res)
              return res.error();
            print(ctx, *res);
            return caf::none;
          }};
}

caf::error list_cmd(context& ctx, const std::vector<std::string>& words) {
  po::options_description desc;
  desc.add_options()("all", po::bool_switch(), "include shut-off domains");
  po::variables_map vm;
  if (auto err = parse_args("list", words, desc, {}, vm))
    return err;
  auto res = ctx.call<std::vector<domain_info>>(
    list_domains{vm["all"].as<bool>()});
  if (!res)
    return res.error();
  if (ctx.json()) {
    auto arr = nlohmann::json::array();
    for (auto& d : *res)
      arr.push_back(to_json(d));
    ctx.out() << arr.dump() << "\n";
  } else {
    print_list(ctx.out(), *res);
  }
  return caf::none;
}

caf::error define_cmd(context& ctx, const std::vector<std::string>& words) {
  po::options_description desc;
  po::variables_map vm;
  if (auto err = parse_args("define", words, desc, {"FILE"}, vm))
    return err;
  auto path = vm["FILE"].as<std::string>();
  auto xml = files::read(path, 1024 * 1024);
  if (!xml)
    return xml.error();
  auto res = ctx.call<domain_info>(define_domain{*xml});
  if (!res)
    return res.error();
  if (ctx.json())
    ctx.out() << to_json(*res).dump() << "\n";
  else
  {
    ctx.out() << "Domain '" << res->name << "' defined from " << path << "\n";
    if (!res->ignored.empty()) {
      ctx.out() << "Ignored (no effect on a ferry guest):";
      for (auto& element : res->ignored)
        ctx.out() << " " << element;
      ctx.out() << "\n";
    }
  }
  return caf::none;
}

caf::error nodeinfo_cmd(context& ctx, const std::vector<std::string>& words) {
  po::options_description desc;
  po::variables_map vm;
  if (auto err = parse_args("nodeinfo", words, desc, {}, vm))
    return err;
  auto res = ctx.call<node_info>(get_node_info{});
  if (!res)
    return res.error();
  if (ctx.json())
    ctx.out() << to_json(*res).dump() << "\n";
  else
    print_nodeinfo(ctx.out(), *res);
  return caf::none;
}

caf::error inject_fault_cmd(context& ctx,
                            const std::vector<std::string>& words) {
  po::options_description desc;
  po::variables_map vm;
  if (auto err = parse_args("inject-fault", words, desc,
                            {"POINT", "ACTION", "COUNT"}, vm, 1))
    return err;
  faults::action act;
  auto action_text = vm["ACTION"].as<std::string>();
  if (!faults::parse_action(action_text, act))
    return make_error(errc::invalid_argument,
                      "inject-fault: ACTION must be fail, crash or freeze");
  uint32_t count = 1;
  if (vm.count("COUNT")) {
    try {
      count = static_cast<uint32_t>(std::stoul(vm["COUNT"].as<std::string>()));
    } catch (...) {
      return make_error(errc::invalid_argument,
                        "inject-fault: COUNT must be a number");
    }
  }
  auto res = ctx.call<bool>(arm_fault{vm["POINT"].as<std::string>(),
                                      static_cast<uint8_t>(act), count});
  if (!res)
    return res.error();
  if (!ctx.json())
    ctx.out() << "Armed " << vm["POINT"].as<std::string>() << " (" << action_text
              << " x" << count << ")\n";
  return caf::none;
}

std::vector<command> build_table() {
  std::vector<command> table;
  add_commands(table);
  add_migration_commands(table);
  add_event_commands(table);
  add_netcheck_commands(table);
  return table;
}

} // namespace

void add_commands(std::vector<command>& t) {
  t.push_back({"list", "[--all]", "list running and paused domains", list_cmd});
  t.push_back({"define", "FILE", "define a persistent domain from XML",
               define_cmd});
  t.push_back(domain_verb_command("undefine", domain_verb::undefine,
                                  "remove a domain's persistent definition",
                                  "undefined"));
  t.push_back(domain_verb_command("start", domain_verb::start,
                                  "start a defined domain", "started"));
  t.push_back(domain_verb_command("destroy", domain_verb::destroy,
                                  "stop a domain at once", "destroyed"));
  t.push_back(domain_verb_command("suspend", domain_verb::suspend,
                                  "pause a running domain", "suspended"));
  t.push_back(domain_verb_command("resume", domain_verb::resume,
                                  "resume a paused domain", "resumed"));
  t.push_back(domain_query_command<domain_info, get_domain_info>(
    "dominfo", "show a domain's state and size",
    [](context& ctx, const domain_info& d) {
      if (ctx.json())
        ctx.out() << to_json(d).dump() << "\n";
      else
        print_dominfo(ctx.out(), d);
    }));
  t.push_back(domain_query_command<std::string, get_domain_xml>(
    "dumpxml", "print a domain's XML definition",
    [](context& ctx, const std::string& xml) {
      if (ctx.json())
        ctx.out() << nlohmann::json{{"xml", xml}}.dump() << "\n";
      else
        ctx.out() << xml;
    }));
  t.push_back(domain_query_command<domain_digest, get_domain_digest>(
    "domdigest", "SHA-256 of guest RAM (a snapshot while running)",
    [](context& ctx, const domain_digest& d) {
      if (ctx.json())
        ctx.out() << nlohmann::json{{"sha256", d.sha256}, {"exact", d.exact}}
                       .dump()
                  << "\n";
      else
        ctx.out() << d.sha256 << (d.exact ? "" : "  (running: snapshot)")
                  << "\n";
    }));
  t.push_back({"nodeinfo", "", "show the agent and its drivers", nodeinfo_cmd});
  t.push_back({"inject-fault", "POINT fail|crash|freeze [COUNT]",
               "testing: arm a fault point (agent needs --fault-injection)",
               inject_fault_cmd});
}

const std::vector<command>& commands() {
  static const std::vector<command> table = build_table();
  return table;
}

std::string help_text(const std::string& verb) {
  std::ostringstream os;
  for (auto& c : commands()) {
    if (!verb.empty() && c.name != verb)
      continue;
    std::string head = c.name + (c.usage.empty() ? "" : " " + c.usage);
    os << "  " << head;
    if (head.size() < 34)
      os << std::string(34 - head.size(), ' ');
    else
      os << "\n  " << std::string(34, ' ');
    os << c.summary << "\n";
  }
  return os.str();
}

caf::error run_command(context& ctx, const std::vector<std::string>& words) {
  if (words.empty())
    return make_error(errc::invalid_argument, "no command given (try help)");
  for (auto& c : commands())
    if (c.name == words[0])
      return c.run(ctx, {words.begin() + 1, words.end()});
  return make_error(errc::invalid_argument,
                    "unknown command '" + words[0] + "' (try help)");
}

} // namespace ferry::cli
