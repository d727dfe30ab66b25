#pragma once

#include <cmath>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>

namespace ferry {

/// Replaces infinite and NaN values by 0.
///
/// CAF 0.17's binary serializer (`detail::pack754`) never returns for an
/// infinite double and converts NaN with undefined behaviour, and its
/// deserializer turns an all-ones exponent from the wire into infinity. So a
/// message with a double is one hostile (or divided-by-zero) value away from
/// hanging the thread that serializes it. Message types with doubles pass
/// them through this before saving and after loading (`finite_on_save` and
/// `finite_on_load` in their `inspect`).
template <class... Ts>
caf::error make_finite(Ts&... xs) {
  ((xs = std::isfinite(xs) ? xs : 0.0), ...);
  return caf::none;
}

/// An inspect element that makes `xs` finite before they are saved.
template <class... Ts>
auto finite_on_save(Ts&... xs) {
  return caf::meta::save_callback([&xs...] { return make_finite(xs...); });
}

/// An inspect element that makes `xs` finite once they are loaded.
template <class... Ts>
auto finite_on_load(Ts&... xs) {
  return caf::meta::load_callback([&xs...] { return make_finite(xs...); });
}

} // namespace ferry
