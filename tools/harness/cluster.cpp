#include "tools/harness/cluster.hpp"

#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "util/crypto.hpp"
#include "util/files.hpp"
#include "util/process.hpp"

namespace ferry::harness {

cluster::cluster(std::string label) : tools_(tools_dir()) {
  auto* tmp = std::getenv("TMPDIR");
  std::string templ = std::string{tmp != nullptr && *tmp ? tmp : "/tmp"} + "/"
                      + label + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr)
    throw std::runtime_error("cannot create a temporary directory");
  dir_ = templ;
  ca_ = pki::make_ca("ferry-test-ca");
  if (pki::write(ca_, dir_ + "/pki", "ca"))
    throw std::runtime_error("cannot write the test CA");
  files::write_atomic(dir_ + "/testhv.secret",
                      crypto::to_hex(crypto::random_bytes(32)), 0600);
}

cluster::~cluster() {
  nodes_.clear(); // stops every node
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

node& cluster::add_node(const std::string& name, node_options opts) {
  opts.name = name;
  if (opts.port == 0)
    opts.port = free_port_pair(opts.host);
  auto ndir = dir_ + "/" + name;
  files::make_dirs(ndir);
  if (opts.state_dir.empty())
    opts.state_dir = ndir + "/state";
  if (opts.log_path.empty())
    opts.log_path = ndir + "/ferryd.log";
  if (opts.secret_file.empty())
    opts.secret_file = dir_ + "/testhv.secret";
  if (opts.tls && opts.cert.empty()) {
    auto cred = pki::issue(ca_, "agent-" + name);
    pki::write(cred, ndir, "agent");
    opts.cert = ndir + "/agent-cert.pem";
    opts.key = ndir + "/agent-key.pem";
    opts.ca = ca_file();
  }
  // Agents fail closed: without an ACL nobody may log in. Unless a test
  // brings its own, the cluster's admin client and its agents get theirs;
  // over plain TCP names are only claimed, so everybody may (lab use).
  auto& extra = opts.extra_args;
  bool has_acl = std::any_of(extra.begin(), extra.end(), [](auto& a) {
    return a == "--acl" || a == "--acl-default";
  });
  if (!has_acl) {
    if (opts.tls)
      extra.insert(extra.end(),
                   {"--acl", "admin=admin", "--acl", "agent-*=peer"});
    else
      extra.insert(extra.end(), {"--acl-default", "admin,peer"});
  }
  auto n = std::make_unique<node>(tools_, std::move(opts));
  auto& ref = *n;
  nodes_[name] = std::move(n);
  order_.push_back(name);
  return ref;
}

node& cluster::at(const std::string& name) {
  auto i = nodes_.find(name);
  if (i == nodes_.end())
    throw std::runtime_error("no node named " + name);
  return *i->second;
}

bool cluster::has(const std::string& name) const {
  return nodes_.count(name) != 0;
}

std::vector<std::string> cluster::names() const {
  return order_;
}

std::string cluster::client_pki(const std::string& cn) {
  auto cdir = dir_ + "/clients/" + cn;
  if (::access((cdir + "/client-cert.pem").c_str(), R_OK) == 0)
    return cdir;
  pki::issue_options opts;
  opts.use = pki::purpose::client; // a client cannot pose as an agent
  pki::write(pki::issue(ca_, cn, opts), cdir, "client");
  files::write_atomic(cdir + "/ca-cert.pem", ca_.cert_pem, 0644);
  return cdir;
}

tls_settings cluster::client_tls(const std::string& cn) {
  auto pki = client_pki(cn);
  return {pki + "/client-cert.pem", pki + "/client-key.pem",
          pki + "/ca-cert.pem"};
}

cli_result cluster::cli(const std::vector<std::string>& args,
                        const std::string& cn, int timeout_ms) {
  return tool("ferry", args, {}, cn, timeout_ms);
}

cli_result cluster::tool(const std::string& program,
                         const std::vector<std::string>& args,
                         const std::string& input, const std::string& cn,
                         int timeout_ms) {
  auto base = dir_ + "/run-" + std::to_string(++cli_counter_);
  files::write_atomic(base + ".in", input);
  int in = ::open((base + ".in").c_str(), O_RDONLY | O_CLOEXEC);
  int out = ::open((base + ".out").c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = ::open((base + ".err").c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  process::spawn_request req;
  req.argv = {tools_ + "/" + program};
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  req.stdin_fd = in;
  req.stdout_fd = out;
  req.stderr_fd = err;
  if (!cn.empty())
    req.env.push_back("FERRY_PKI_DIR=" + client_pki(cn));
  // Sanitizer builds: leak checking of the short-lived client tools can be
  // set apart from the agents' (tools/lsan-client.supp says why).
  if (auto* lsan = std::getenv("FERRY_CLIENT_LSAN_OPTIONS"))
    req.env.push_back(std::string{"LSAN_OPTIONS="} + lsan);
  std::string why;
  cli_result res;
  auto pid = process::spawn(req, why);
  ::close(in);
  ::close(out);
  ::close(err);
  if (pid < 0) {
    res.err = why;
    return res;
  }
  int status = 0;
  if (!process::wait_exit(pid, timeout_ms, &status)) {
    process::kill_child(pid, SIGKILL);
    process::wait_exit(pid, 5000, &status);
    res.err = program + " did not finish within " + std::to_string(timeout_ms)
              + " ms\n";
  }
  res.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (auto text = files::read(base + ".out"))
    res.out = *text;
  if (auto text = files::read(base + ".err"))
    res.err += *text;
  for (auto ext : {".in", ".out", ".err"})
    ::unlink((base + ext).c_str());
  return res;
}

} // namespace ferry::harness
