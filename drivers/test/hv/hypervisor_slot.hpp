#pragma once

// The definition of `hypervisor::slot`, shared by the files that implement
// the hypervisor (hypervisor.cpp, hypervisor_direct.cpp).

#include <atomic>
#include <memory>
#include <thread>

#include <unistd.h>

#include "drivers/test/hv/hypervisor.hpp"

namespace ferry::testhv {

/// One guest and whatever migration involves it.
struct hypervisor::slot {
  guest_ptr g;
  std::unique_ptr<outgoing_migration> out;
  std::unique_ptr<incoming_migration> in;
  int listen_fd = -1;
  std::atomic<bool> accept_cancel{false};
  std::thread acceptor;

  ~slot() {
    accept_cancel = true;
    if (acceptor.joinable())
      acceptor.join();
    if (listen_fd >= 0)
      ::close(listen_fd);
    out.reset();
    in.reset();
  }

  bool migrating() const {
    return (out && !out->finished()) || (in && !in->finished())
           || (acceptor.joinable() && !in_started());
  }

  bool in_started() const {
    return in && in->status() != mig_status::none;
  }
};

} // namespace ferry::testhv
