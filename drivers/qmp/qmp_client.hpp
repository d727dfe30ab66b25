#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include "drivers/qmp/line_socket.hpp"

namespace ferry::qmp {

using json = nlohmann::json;

/// A QMP client: JSON commands with ids over a stream socket, replies
/// matched by id, asynchronous events handed to a callback. Speaks to QEMU
/// and to ferry's test hypervisor, which uses the same dialect.
///
/// Calls block the calling thread (a driver actor runs detached for this)
/// and are always bounded by a timeout. A reader thread owns the socket's
/// read side; when the peer goes away every pending call fails at once.
class client {
public:
  using event_handler = std::function<void(const json& event)>;
  using close_handler = std::function<void()>;

  /// Takes a connected socket, reads the greeting and enters command mode
  /// (`qmp_capabilities`). `what` names the peer in errors ("QEMU for vm1").
  static caf::expected<std::unique_ptr<client>>
  open(int fd, std::string what, event_handler on_event, close_handler on_close,
       int timeout_ms = 5000);

  ~client();

  /// Runs one command. Errors: `hypervisor_error` with QMP's description,
  /// `timeout` naming the command, or a lost-connection error.
  caf::expected<json> call(const std::string& command, json args = {},
                           int timeout_ms = 10000, int fd = -1);

  /// The greeting's `QMP` object.
  const json& greeting() const {
    return greeting_;
  }

  bool alive() const;

  /// Closes the connection; pending calls fail.
  void close();

private:
  client(int fd, std::string what, event_handler on_event,
         close_handler on_close);
  void read_loop();

  struct pending {
    bool done = false;
    json reply;
  };

  line_socket sock_;
  std::string what_;
  event_handler on_event_;
  close_handler on_close_;
  json greeting_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::map<uint64_t, std::shared_ptr<pending>> pending_;
  uint64_t next_id_ = 1;
  bool alive_ = true;
  bool greeted_ = false;
  std::string greeting_error_;
  std::thread reader_;
};

} // namespace ferry::qmp
