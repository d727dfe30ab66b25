#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/harness/node.hpp"
#include "transport/pki.hpp"
#include "transport/tls_settings.hpp"

namespace ferry::harness {

/// Result of running the `ferry` CLI once.
struct cli_result {
  int rc = -1;
  std::string out;
  std::string err;
};

/// A throwaway set of agents on loopback: a temporary directory, a CA with a
/// certificate per node and per client identity, a shared hypervisor
/// secret, and helpers to run the CLI against any node. Used by the
/// integration tests and by ferry-scenario.
class cluster {
public:
  /// Creates the directory (under $TMPDIR) and the CA.
  explicit cluster(std::string label = "ferry");
  ~cluster();

  /// Adds a node (not started). Certificate CN = `agent-NAME` unless the
  /// options say otherwise.
  node& add_node(const std::string& name, node_options opts = {});
  node& at(const std::string& name);
  bool has(const std::string& name) const;
  std::vector<std::string> names() const;

  /// Issues a client certificate (CN = `cn`) and returns its directory in
  /// the layout `FERRY_PKI_DIR` expects.
  std::string client_pki(const std::string& cn);
  /// The TLS settings of an in-process client with identity `cn`.
  tls_settings client_tls(const std::string& cn = "admin");

  /// Runs `ferry --json? ARGS…` as identity `cn` (default `admin`).
  cli_result cli(const std::vector<std::string>& args,
                 const std::string& cn = "admin", int timeout_ms = 120000);

  /// Runs `PROGRAM ARGS…` (a tool next to ferryd) with `input` on stdin.
  cli_result tool(const std::string& program,
                  const std::vector<std::string>& args,
                  const std::string& input, const std::string& cn = "admin",
                  int timeout_ms = 120000);

  const std::string& dir() const {
    return dir_;
  }
  const pki::credential& ca() const {
    return ca_;
  }
  std::string ca_file() const {
    return dir_ + "/pki/ca-cert.pem";
  }
  std::string tools() const {
    return tools_;
  }
  /// Keeps the directory after destruction (for post-mortems).
  void keep() {
    keep_ = true;
  }

private:
  std::string dir_;
  std::string tools_;
  pki::credential ca_;
  std::map<std::string, std::unique_ptr<node>> nodes_;
  std::vector<std::string> order_;
  bool keep_ = false;
  int cli_counter_ = 0;
};

} // namespace ferry::harness
