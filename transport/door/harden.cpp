#include "transport/door/harden.hpp"

#include <caf/message_view.hpp>
#include <caf/sec.hpp>

#include "util/error.hpp"
#include "util/log.hpp"

namespace ferry {

void harden(caf::scheduled_actor* self, const char* component) {
  self->set_default_handler(
    [component](caf::scheduled_actor* ptr,
                caf::message_view& xs) -> caf::result<caf::message> {
      auto msg = xs.copy_content_to_message();
      FERRY_DEBUG(component, "dropped unexpected message " << to_string(msg));
      if (ptr->current_message_id().is_request())
        return caf::sec::unexpected_message;
      return caf::message{};
    });
  self->set_error_handler([component](caf::scheduled_actor*, caf::error& err) {
    FERRY_DEBUG(component, "ignored error message: " << error_text(err));
  });
}

} // namespace ferry
