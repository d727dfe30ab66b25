#include "transport/tls/tls_layer.hpp"

#include <map>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/error.hpp"
#include "transport/tls/handshake_pool.hpp"
#include "transport/tls/stop_signal.hpp"
#include "transport/tls/tls_context.hpp"
#include "transport/tls/tls_middleman_actor.hpp"

namespace ferry {

namespace {

/// Layers by actor system (tests run several systems in one process).
struct registry {
  std::mutex mtx;
  std::map<const caf::actor_system*, tls_layer*> layers;

  static registry& instance() {
    static registry r;
    return r;
  }
};

} // namespace

tls_layer::tls_layer(caf::actor_system& sys, std::shared_ptr<tls_context> ctx,
                     std::shared_ptr<handshake_pool> pool,
                     std::shared_ptr<stop_signal> stop)
  : sys_(sys),
    ctx_(std::move(ctx)),
    pool_(std::move(pool)),
    stop_(std::move(stop)) {
}

caf::expected<std::unique_ptr<tls_layer>>
tls_layer::start(caf::actor_system& sys, const tls_settings& tls,
                 std::chrono::milliseconds handshake_timeout) {
  {
    auto& reg = registry::instance();
    std::lock_guard<std::mutex> guard{reg.mtx};
    if (reg.layers.count(&sys) != 0)
      return make_error(errc::internal,
                        "the TLS layer is already running for this process");
  }
  auto ctx = tls_context::load(tls);
  if (!ctx)
    return ctx.error();
  auto stop = std::make_shared<stop_signal>();
  if (stop->fd() < 0)
    return make_error(errc::io_error, "cannot create an eventfd");
  handshake_pool::limits lim;
  lim.timeout = handshake_timeout;
  auto pool = std::make_shared<handshake_pool>(lim);
  if (auto err = pool->start())
    return err;
  std::unique_ptr<tls_layer> layer{
    new tls_layer(sys, *ctx, std::move(pool), std::move(stop))};
  auto basp = sys.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  tls_middleman_parts parts{layer->ctx_, layer->pool_, layer->stop_,
                            handshake_timeout};
  layer->actor_ = sys.spawn<tls_middleman_actor, caf::detached + caf::hidden>(
    std::move(basp), std::move(parts));
  auto& reg = registry::instance();
  std::lock_guard<std::mutex> guard{reg.mtx};
  reg.layers[&sys] = layer.get();
  return layer;
}

tls_layer* tls_layer::of(caf::actor_system& sys) {
  auto& reg = registry::instance();
  std::lock_guard<std::mutex> guard{reg.mtx};
  auto i = reg.layers.find(&sys);
  return i != reg.layers.end() ? i->second : nullptr;
}

tls_layer::~tls_layer() {
  stop();
}

caf::error tls_layer::reload() {
  return ctx_->reload();
}

size_t tls_layer::pending_handshakes() const {
  return pool_->pending();
}

void tls_layer::stop() {
  {
    auto& reg = registry::instance();
    std::lock_guard<std::mutex> guard{reg.mtx};
    auto i = reg.layers.find(&sys_);
    if (i != reg.layers.end() && i->second == this)
      reg.layers.erase(i);
  }
  if (!actor_)
    return;
  // Wake a client handshake the actor may be blocked in, then end the
  // accepting side's handshakes; neither waits for a frozen peer.
  stop_->fire();
  pool_->stop();
  // CAF's middleman actor ignores ordinary exit messages; `kill` is final.
  caf::scoped_actor self{sys_, true};
  self->send_exit(actor_, caf::exit_reason::kill);
  self->wait_for(actor_);
  actor_ = nullptr;
}

} // namespace ferry
