#pragma once

#include "messages/domain.hpp"
#include "util/error.hpp"
#include "messages/events.hpp"
#include "messages/lifecycle.hpp"
#include "messages/session.hpp"
#include "messages/migration.hpp"
#include "messages/netcheck.hpp"
#include "messages/testing.hpp"
#include "messages/introspection.hpp"
#include "messages/interfaces.hpp"
