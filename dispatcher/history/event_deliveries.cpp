// The command and the reply reading of an event's deliveries; see event_deliveries.hpp.
#include "dispatcher/history/event_deliveries.hpp"

namespace dispatcher::history {

redis::command event_deliveries_command(std::string_view bucket_key, const event_record& event) {
  redis::command get{"HMGET", bucket_key};
  for (const auto& id : event.delivery_ids) get.arg("d:" + id);
  return get;
}

std::vector<event_delivery> read_event_deliveries(const event_record& event,
                                                  const redis::reply& reply) {
  std::vector<event_delivery> out;
  const auto& values = reply.elements;
  for (std::size_t i = 0; i < values.size() && i < event.delivery_ids.size(); ++i) {
    if (auto d = parse_delivery_record(values[i].str)) {
      out.push_back({event.delivery_ids[i], std::move(*d)});
    }
  }
  return out;
}

}  // namespace dispatcher::history
