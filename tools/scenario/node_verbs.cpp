// Scenario verbs for nodes and domains: node, define, on, try, and the
// lifecycle shorthands (start NODE DOM, …).

#include "messages/all.hpp"
#include "tools/scenario/scenario_runner.hpp"
#include "util/files.hpp"

namespace ferry::scenario {

namespace {

caf::error usage(const char* text) {
  return make_error(errc::invalid_argument, std::string{"usage: "} + text);
}

} // namespace

void scenario_runner::add_node_verbs() {
  interp_.add(
    "node", "NAME [--driver test|qemu]… [--journal-keep N] [--listen-any]",
    "start a ferryd (own certificate, state dir, fault injection on)",
    [this](const std::vector<std::string>& a) -> caf::error {
      if (a.empty())
        return usage("node NAME [--driver DRIVER]... [--journal-keep N]");
      harness::node_options opts;
      opts.drivers.clear();
      std::vector<std::string> extra{"--fault-injection"};
      for (size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--driver" && i + 1 < a.size())
          opts.drivers.push_back(a[++i]);
        else if (a[i] == "--journal-keep" && i + 1 < a.size())
          extra.insert(extra.end(), {"--journal-keep", a[++i]});
        else if (a[i] == "--listen-any") // --listen 0.0.0.0:PORT
          opts.listen_host = "0.0.0.0";
        else
          return make_error(errc::invalid_argument,
                            "node: unknown option " + a[i]);
      }
      if (opts.drivers.empty())
        opts.drivers = {"test"};
      opts.extra_args = extra;
      if (cl_.has(a[0]))
        return make_error(errc::invalid_argument,
                          "node " + a[0] + " already exists");
      if (net_ != nullptr) {
        std::string err;
        auto place = net_->add(a[0], err);
        if (!err.empty())
          return make_error(errc::internal, "node " + a[0] + ": " + err);
        opts.netns = place.ns;
        opts.host = place.address;
        opts.port = harness::netns_agent_port;
      }
      auto err = cl_.add_node(a[0], opts).start();
      if (!err.empty())
        return make_error(errc::internal, err);
      return caf::none;
    });
  interp_.add(
    "define", "NODE DOM MIB [dirty=MIBPS] [ws=MIB]",
    "define a domain on NODE (persistent) for its first driver: a test "
    "domain, or a QEMU guest running ferry's test kernel (ws = the window "
    "it keeps dirtying; dirty= does not apply)",
    [this](const std::vector<std::string>& a) -> caf::error {
      if (a.size() < 3)
        return usage("define NODE DOM MIB [dirty=MIBPS] [ws=MIB]");
      std::string workload;
      std::string dirty = "0";
      std::string ws;
      for (size_t i = 3; i < a.size(); ++i) {
        if (a[i].rfind("dirty=", 0) == 0)
          dirty = a[i].substr(6);
        else if (a[i].rfind("ws=", 0) == 0)
          ws = a[i].substr(3);
        else
          return make_error(errc::invalid_argument,
                            "define: unknown word " + a[i]);
      }
      auto& drivers = node(a[0]).options().drivers;
      bool qemu = !drivers.empty() && drivers.front() == "qemu";
      std::string xml;
      if (qemu)
        xml = "<domain type='qemu'><name>" + a[1]
              + "</name><memory unit='MiB'>" + a[2]
              + "</memory><vcpu>1</vcpu><os><kernel>"
              + harness::test_guest_path() + "</kernel></os><workload"
              + (ws.empty() ? "" : " working-set='" + ws + "'") + "/></domain>";
      else
        xml = "<domain type='test'><name>" + a[1]
              + "</name><memory unit='MiB'>" + a[2] + "</memory>"
              + "<workload dirty-rate='" + dirty + "'"
              + (ws.empty() ? "" : " working-set='" + ws + "'")
              + "/></domain>";
      auto path = cl_.dir() + "/" + a[0] + "-" + a[1] + ".xml";
      if (auto err = files::write_atomic(path, xml))
        return err;
      return cli_on(a[0], {"define", path}, nullptr);
    });
  for (auto verb : {"start", "destroy", "suspend", "resume", "undefine"}) {
    interp_.add(verb, "NODE DOM", std::string{verb} + " DOM on NODE",
                [this, verb](const std::vector<std::string>& a) -> caf::error {
                  if (a.size() != 2)
                    return make_error(errc::invalid_argument,
                                      std::string{"usage: "} + verb
                                        + " NODE DOM");
                  return cli_on(a[0], {verb, a[1]}, nullptr);
                });
  }
  interp_.add("on", "NODE VERB [ARGS…]",
              "run a CLI verb against NODE; it must succeed",
              [this](const std::vector<std::string>& a) -> caf::error {
                if (a.size() < 2)
                  return usage("on NODE VERB [ARGS...]");
                return cli_on(a[0], {a.begin() + 1, a.end()}, &last_output_);
              });
  interp_.add("try", "NODE VERB [ARGS…]",
              "run a CLI verb against NODE; `expect last` checks the result",
              [this](const std::vector<std::string>& a) -> caf::error {
                if (a.size() < 2)
                  return usage("try NODE VERB [ARGS...]");
                last_ = cli_on(a[0], {a.begin() + 1, a.end()}, &last_output_);
                return caf::none;
              });
}

} // namespace ferry::scenario
