#include "drivers/qemu/qemu_process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/process.hpp"

namespace ferry {

namespace {

constexpr int start_timeout_ms = 10000;
constexpr int reattach_timeout_ms = 2000;

std::string what_of(const std::string& name) {
  return "QEMU of domain '" + name + "'";
}

/// True if `pid` runs a command line mentioning `needle` (guards against a
/// recycled pid when reattaching or killing a QEMU we did not start).
bool runs_with(pid_t pid, const std::string& needle) {
  auto cmdline = files::read("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline)
    return false;
  for (auto& c : *cmdline)
    if (c == '\0')
      c = ' ';
  return cmdline->find(needle) != std::string::npos;
}

std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\n' || c == '\r')
      c = ' ';
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string{"signal "} + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

} // namespace

qemu_process::paths qemu_process::paths::of(const std::string& run_dir,
                                            const domain_definition& def) {
  paths p;
  p.run_dir = run_dir;
  p.record = run_dir + "/" + def.name + ".json";
  p.log = run_dir + "/" + def.name + ".log";
  p.console = run_dir + "/" + def.name + ".console";
  p.serial_log = run_dir + "/" + def.name + ".serial.log";
  p.qmp = run_dir + "/" + def.uuid + ".qmp";
  return p;
}

qemu_process::qemu_process(domain_definition def, paths p, pid_t pid,
                           bool child, event_sink sink)
  : def_(std::move(def)),
    paths_(std::move(p)),
    pid_(pid),
    child_(child),
    sink_(std::move(sink)),
    what_(what_of(def_.name)) {
}

qemu_process::~qemu_process() {
  qmp_.reset(); // joins the reader thread before the members it uses go
}

caf::expected<std::unique_ptr<qemu_process>>
qemu_process::launch(qemu_command_line cmd, const std::string& run_dir,
                     event_sink sink) {
  auto p = paths::of(run_dir, cmd.def);
  if (p.qmp.size() > 100 || p.qmp.find(',') != std::string::npos)
    return make_error(errc::config_error,
                      "QMP socket path '" + p.qmp
                        + "' is too long for a unix socket or contains ','; "
                          "use a shorter --state-dir");
  if (auto err = files::make_dirs(run_dir))
    return err;
  ::unlink(p.qmp.c_str());
  cmd.qmp_path = p.qmp;
  cmd.console_path = p.console;
  cmd.serial_log = p.serial_log;
  int log_fd = ::open(p.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0600);
  if (log_fd < 0)
    return make_error(errc::io_error, "cannot create " + p.log + ": "
                                        + std::strerror(errno));
  process::spawn_request req;
  req.argv = cmd.argv();
  req.output_fd = log_fd;
  std::string err;
  auto pid = process::spawn(req, err);
  ::close(log_fd);
  if (pid < 0)
    return make_error(errc::hypervisor_error,
                      "cannot start QEMU (" + cmd.binary + "): " + err);
  auto name = cmd.def.name;
  std::unique_ptr<qemu_process> proc{
    new qemu_process(std::move(cmd.def), p, pid, true, sink)};
  proc->incoming_ = cmd.incoming;
  process::on_exit(pid, [sink, name, pid](int status) {
    sink(driver_event{"QEMU_EXIT", name,
                      qmp::json{{"pid", pid},
                                {"status", describe_status(status)}}
                        .dump()});
  });
  if (auto err = proc->connect_qmp(start_timeout_ms)) {
    process::kill_child(pid, SIGKILL);
    process::wait_exit(pid, 2000);
    return err;
  }
  if (auto err = proc->write_record()) {
    proc->terminate();
    return err;
  }
  FERRY_INFO("qemu", "started QEMU for " << name << " (pid " << pid
                                         << (proc->incoming_ ? ", incoming"
                                                             : "")
                                         << ")");
  return proc;
}

caf::expected<std::unique_ptr<qemu_process>>
qemu_process::reattach(const std::string& record_path, event_sink sink) {
  auto text = files::read(record_path);
  if (!text)
    return text.error();
  auto rec = qmp::json::parse(*text, nullptr, false);
  auto gone = [&](const std::string& why) {
    files::remove(record_path);
    return make_error(errc::hypervisor_error, why);
  };
  if (!rec.is_object() || !rec.contains("pid") || !rec.contains("xml"))
    return gone("unreadable QEMU record " + record_path);
  auto def = parse_domain_xml(rec.value("xml", ""));
  if (!def)
    return gone("QEMU record " + record_path + ": "
                + error_text(def.error()));
  auto p = paths::of(rec.value("run_dir", ""), *def);
  auto pid = rec.value("pid", pid_t{-1});
  if (pid <= 0 || !runs_with(pid, p.qmp))
    return gone(what_of(def->name) + " (pid " + std::to_string(pid)
                + ") is no longer running");
  std::unique_ptr<qemu_process> proc{
    new qemu_process(std::move(*def), p, pid, false, std::move(sink))};
  proc->incoming_ = rec.value("incoming", false);
  if (auto err = proc->connect_qmp(reattach_timeout_ms)) {
    files::remove(record_path);
    return err;
  }
  FERRY_INFO("qemu", "reattached to QEMU of " << proc->def_.name << " (pid "
                                              << pid << ")");
  return proc;
}

caf::error qemu_process::connect_qmp(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds{timeout_ms};
  int fd = -1;
  for (;;) {
    fd = qmp::connect_unix(paths_.qmp);
    if (fd >= 0)
      break;
    bool dead = child_ ? process::wait_exit(pid_, 0) : ::kill(pid_, 0) != 0;
    if (dead) {
      auto tail = log_tail();
      return make_error(errc::hypervisor_error,
                        what_ + " exited during start"
                          + (tail.empty() ? std::string{} : ": " + tail));
    }
    if (std::chrono::steady_clock::now() > deadline)
      return make_error(errc::timeout, what_ + " did not open its QMP socket "
                                                 "within "
                                         + std::to_string(timeout_ms) + " ms");
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  auto on_event = [this](const qmp::json& ev) { on_qmp_event(ev); };
  auto on_close = [this] {
    if (child_ || exit_reported_.exchange(true))
      return; // the reaper reports our own children with their status
    sink_(driver_event{"QEMU_EXIT", def_.name,
                       qmp::json{{"pid", pid_},
                                 {"status", "QMP connection closed"}}
                         .dump()});
  };
  auto client = qmp::client::open(fd, what_, on_event, on_close, timeout_ms);
  if (!client) {
    // QEMU opens QMP before it loads the kernel: a QEMU that cannot boot
    // the guest drops the connection and exits. Its log says why.
    bool dead = child_ ? process::wait_exit(pid_, 2000) : ::kill(pid_, 0) != 0;
    auto tail = log_tail();
    if (dead)
      return make_error(errc::hypervisor_error,
                        what_ + " exited during start"
                          + (tail.empty() ? std::string{} : ": " + tail));
    return client.error();
  }
  qmp_ = std::move(*client);
  return caf::none;
}

void qemu_process::on_qmp_event(const qmp::json& ev) {
  driver_event out;
  out.kind = ev.value("event", "");
  out.domain = def_.name;
  auto data = ev.value("data", qmp::json::object());
  if (out.kind == "STOP" && ev.contains("timestamp")) {
    auto& ts = ev["timestamp"];
    last_stop_ms_ = ts.value("seconds", int64_t{0}) * 1000
                    + ts.value("microseconds", int64_t{0}) / 1000;
  }
  if (out.kind == "MIGRATION")
    data["direction"] = incoming_ ? "in" : "out";
  out.payload = data.dump();
  sink_(std::move(out));
}

caf::expected<qmp::json> qemu_process::call(const std::string& command,
                                            qmp::json args, int timeout_ms,
                                            int fd) {
  if (!qmp_ || !qmp_->alive())
    return make_error(errc::hypervisor_error,
                      what_ + " is not running (" + command + ")");
  auto res = qmp_->call(command, std::move(args), timeout_ms, fd);
  if (res)
    return res;
  // The QMP client says "WHAT: desc"; name the command QEMU refused.
  auto text = one_line(error_text(res.error()));
  auto prefix = what_ + ": ";
  if (code_of(res.error()) == errc::hypervisor_error
      && text.rfind(prefix, 0) == 0)
    return make_error(errc::hypervisor_error,
                      what_ + " refused '" + command
                        + "': " + text.substr(prefix.size()));
  return make_error(code_of(res.error()), text);
}

caf::error qemu_process::pass_fd(const std::string& name, int fd) {
  auto res = call("getfd", {{"fdname", name}}, default_timeout_ms, fd);
  ::close(fd);
  return res ? caf::none : res.error();
}

void qemu_process::terminate(int timeout_ms) {
  if (qmp_ && qmp_->alive())
    call("quit", qmp::json::object(), 2000);
  if (child_) {
    if (!process::wait_exit(pid_, timeout_ms)) {
      FERRY_WARN("qemu", what_ << " ignored quit; killing pid " << pid_);
      process::kill_child(pid_, SIGKILL);
      process::wait_exit(pid_, 2000);
    }
  } else {
    exit_reported_ = true; // we are ending it: no exit event
    auto deadline = std::chrono::steady_clock::now()
                    + std::chrono::milliseconds{timeout_ms};
    while (qmp_ && qmp_->alive() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    if (runs_with(pid_, paths_.qmp) && qmp_ && qmp_->alive())
      ::kill(pid_, SIGKILL);
  }
  qmp_.reset();
  files::remove(paths_.record);
  ::unlink(paths_.qmp.c_str());
}

void qemu_process::forget() {
  exit_reported_ = true;
  qmp_.reset();
  files::remove(paths_.record);
  ::unlink(paths_.qmp.c_str());
}

std::string qemu_process::log_tail() const {
  auto text = files::read(paths_.log, 1024 * 1024);
  if (!text)
    return {};
  auto& t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' '))
    t.pop_back();
  auto nl = t.rfind('\n');
  auto line = nl == std::string::npos ? t : t.substr(nl + 1);
  // "-msg timestamp=on" prefixes lines with an ISO time: drop it.
  auto colon = line.find("Z ");
  if (colon != std::string::npos && colon < 32)
    line = line.substr(colon + 2);
  return one_line(line);
}

caf::error qemu_process::write_record() const {
  qmp::json rec{{"pid", pid_},
                {"run_dir", paths_.run_dir},
                {"qmp", paths_.qmp},
                {"log", paths_.log},
                {"incoming", incoming_.load()},
                {"xml", to_xml(def_)}};
  return files::write_atomic(paths_.record, rec.dump(2) + "\n", 0600);
}

} // namespace ferry
