// Reading an event's deliveries: one HMGET of their d:<id> fields in the event's bucket,
// and the reply read back in the event's order. The event view (GET /v1/events/{id}) and
// the connection's delivery list both read them; this is the one reader they share, as
// pure functions so the command and the reading of a partial reply are unit-tested.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dispatcher/history/delivery.hpp"
#include "dispatcher/redis/reply.hpp"

namespace dispatcher::history {

struct event_delivery {
  std::string id;
  delivery_record record;
};

/// HMGET <bucket_key> d:<id>... over the event's delivery ids; the event must have some.
redis::command event_deliveries_command(std::string_view bucket_key, const event_record& event);

/// The deliveries in a reply to event_deliveries_command, in the event's order; those that
/// are gone (past retention) or are not delivery records are left out.
std::vector<event_delivery> read_event_deliveries(const event_record& event,
                                                  const redis::reply& reply);

}  // namespace dispatcher::history
