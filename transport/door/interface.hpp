#pragma once

#include <memory>
#include <set>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/replies_to.hpp>
#include <caf/rtti_pair.hpp>
#include <caf/typed_actor.hpp>
#include <caf/uniform_type_info_map.hpp>

#include "transport/door/door_registry.hpp"

namespace ferry {

namespace detail {

template <class... Ts>
std::string wire_type_list(caf::actor_system& sys, caf::detail::type_list<Ts...>) {
  std::string out = "@<>";
  auto& types = sys.types();
  ((out += '+', out += types.portable_name(caf::make_rtti_pair<Ts>())), ...);
  return out;
}

template <class... Is, class Out>
void add_input(caf::actor_system& sys, std::set<std::string>& out,
               caf::typed_mpi<caf::detail::type_list<Is...>, Out>*) {
  out.insert(wire_type_list(sys, caf::detail::type_list<Is...>{}));
}

template <class... Sigs>
void add_inputs(caf::actor_system& sys, std::set<std::string>& out,
                caf::detail::type_list<Sigs...>) {
  (add_input(sys, out, static_cast<Sigs*>(nullptr)), ...);
}

} // namespace detail

/// The messages a typed interface takes, as type lists the way CAF writes
/// them on the wire ("@<>+ferry.hello"): what a door built for that
/// interface lets through. The interface is the one place that says what
/// an actor accepts from other nodes; the compiler checks the senders
/// against it, and the door the bytes.
template <class Handle>
type_lists accepted_types(caf::actor_system& sys) {
  std::set<std::string> out;
  detail::add_inputs(sys, out, typename Handle::signatures{});
  return std::make_shared<const std::set<std::string>>(std::move(out));
}

} // namespace ferry
