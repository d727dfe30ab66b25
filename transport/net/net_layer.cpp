#include "transport/net/net_layer.hpp"

#include <map>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "util/error.hpp"
#include "transport/net/middleman_actor.hpp"
#include "transport/tls/handshake_pool.hpp"
#include "transport/tls/stop_signal.hpp"
#include "transport/tls/tls_context.hpp"

namespace ferry {

namespace {

/// Layers by actor system (tests run several systems in one process).
struct registry {
  std::mutex mtx;
  std::map<const caf::actor_system*, net_layer*> layers;

  static registry& instance() {
    static registry r;
    return r;
  }
};

} // namespace

net_layer::net_layer(caf::actor_system& sys,
                     std::shared_ptr<door_registry> doors)
  : sys_(sys), doors_(std::move(doors)) {
}

caf::expected<std::unique_ptr<net_layer>>
net_layer::start(caf::actor_system& sys, const tls_settings* tls,
                 options opts) {
  {
    auto& reg = registry::instance();
    std::lock_guard<std::mutex> guard{reg.mtx};
    if (reg.layers.count(&sys) != 0)
      return make_error(errc::internal,
                        "the network layer is already running for this "
                        "process");
  }
  auto doors = std::make_shared<door_registry>(sys.node(), opts.limits);
  std::unique_ptr<net_layer> layer{new net_layer(sys, doors)};
  middleman_parts parts;
  parts.doors = doors;
  parts.handshake_timeout = opts.handshake_timeout;
  if (tls != nullptr) {
    auto ctx = tls_context::load(*tls);
    if (!ctx)
      return ctx.error();
    auto stop = std::make_shared<stop_signal>();
    if (stop->fd() < 0)
      return make_error(errc::io_error, "cannot create an eventfd");
    handshake_pool::limits lim;
    lim.timeout = opts.handshake_timeout;
    lim.max_pending = opts.max_pending_handshakes;
    lim.max_pending_per_address = opts.max_pending_handshakes_per_address;
    auto pool = std::make_shared<handshake_pool>(lim);
    if (auto err = pool->start())
      return err;
    layer->ctx_ = *ctx;
    layer->pool_ = pool;
    layer->stop_ = stop;
    parts.stop = stop;
  }
  auto basp = sys.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  layer->plain_actor_ = sys.spawn<net_middleman_actor,
                                  caf::detached + caf::hidden>(basp, parts);
  if (layer->ctx_) {
    parts.ctx = layer->ctx_;
    parts.pool = layer->pool_;
    layer->tls_actor_ = sys.spawn<net_middleman_actor,
                                  caf::detached + caf::hidden>(basp, parts);
  }
  door_registry::install(sys, doors);
  auto& reg = registry::instance();
  std::lock_guard<std::mutex> guard{reg.mtx};
  reg.layers[&sys] = layer.get();
  return layer;
}

net_layer* net_layer::of(caf::actor_system& sys) {
  auto& reg = registry::instance();
  std::lock_guard<std::mutex> guard{reg.mtx};
  auto i = reg.layers.find(&sys);
  return i != reg.layers.end() ? i->second : nullptr;
}

net_layer::~net_layer() {
  stop();
}

caf::expected<caf::io::middleman_actor> net_layer::actor_for(bool tls) const {
  if (!tls)
    return plain_actor_;
  if (!tls_actor_)
    return make_error(errc::config_error,
                      "ferry+tls needs the TLS transport, which this process "
                      "did not start (no certificate files)");
  return tls_actor_;
}

caf::error net_layer::reload() {
  if (!ctx_)
    return make_error(errc::config_error, "this process has no TLS");
  return ctx_->reload();
}

size_t net_layer::pending_handshakes() const {
  return pool_ ? pool_->pending() : 0;
}

void net_layer::stop() {
  {
    auto& reg = registry::instance();
    std::lock_guard<std::mutex> guard{reg.mtx};
    auto i = reg.layers.find(&sys_);
    if (i != reg.layers.end() && i->second == this) {
      reg.layers.erase(i);
      door_registry::uninstall(sys_);
    }
  }
  if (!plain_actor_)
    return;
  // Wake a client handshake an actor may be blocked in, then end the
  // accepting side's handshakes; neither waits for a frozen peer.
  if (stop_)
    stop_->fire();
  if (pool_)
    pool_->stop();
  // CAF's middleman actor ignores ordinary exit messages; `kill` is final.
  caf::scoped_actor self{sys_, true};
  for (auto* a : {&tls_actor_, &plain_actor_}) {
    if (!*a)
      continue;
    self->send_exit(*a, caf::exit_reason::kill);
    self->wait_for(*a);
    *a = nullptr;
  }
}

} // namespace ferry
