#include "drivers/qemu/qemu_machines.hpp"

#include <algorithm>
#include <csignal>
#include <sstream>

#include <unistd.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/process.hpp"

namespace ferry {

namespace {

constexpr int help_timeout_ms = 10000;

} // namespace

qemu_machines parse_machine_help(const std::string& text) {
  qemu_machines out;
  std::istringstream in{text};
  std::string line;
  static const std::string alias_of = "(alias of ";
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == ' ' || line.find(' ') == 0
        || line.rfind("Supported machines", 0) == 0)
      continue;
    auto name = line.substr(0, line.find(' '));
    out.names.push_back(name);
    auto a = line.find(alias_of);
    if (a != std::string::npos) {
      auto start = a + alias_of.size();
      auto end = line.find(')', start);
      if (end != std::string::npos)
        out.aliases[name] = line.substr(start, end - start);
    }
  }
  return out;
}

caf::expected<std::string>
qemu_machines::resolve(const std::string& machine,
                       const std::string& binary) const {
  auto want = machine.empty() ? std::string{"pc"} : machine;
  auto alias = aliases.find(want);
  if (alias != aliases.end())
    return alias->second;
  if (std::find(names.begin(), names.end(), want) != names.end())
    return want;
  return make_error(errc::hypervisor_error,
                    "this host's QEMU (" + binary
                      + ") does not offer machine type '" + want
                      + "'; a guest keeps its machine type when it moves");
}

caf::expected<qemu_machines> list_machines(const std::string& binary) {
  char path[] = "/tmp/ferry-machines-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0)
    return make_error(errc::io_error, "cannot create a temporary file");
  process::spawn_request req;
  req.argv = {binary, "-machine", "help"};
  req.output_fd = fd;
  std::string err;
  auto pid = process::spawn(req, err);
  ::close(fd);
  int status = 0;
  bool exited = pid > 0 && process::wait_exit(pid, help_timeout_ms, &status);
  auto text = files::read(path, 1 << 20);
  ::unlink(path);
  if (pid <= 0)
    return make_error(errc::hypervisor_error,
                      "cannot run QEMU (" + binary + "): " + err);
  if (!exited) {
    process::kill_child(pid, SIGKILL);
    return make_error(errc::hypervisor_error,
                      binary + " -machine help did not answer");
  }
  if (!text || status != 0)
    return make_error(errc::hypervisor_error,
                      binary + " -machine help failed");
  return parse_machine_help(*text);
}

} // namespace ferry
