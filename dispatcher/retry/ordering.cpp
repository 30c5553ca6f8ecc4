// Where a delivery of an ordered endpoint goes on ingest and who is released when a head
// ends: the rules of CONTRACT section 9 that the scripts apply (ordering.hpp says more).
#include "dispatcher/retry/ordering.hpp"

#include "dispatcher/history/connection.hpp"

namespace dispatcher::retry {

bool is_ordered(bool endpoint_orders, std::string_view connectionid) {
  return endpoint_orders && !connectionid.empty();
}

ingest_place place_on_ingest(const std::optional<chain_head>& head, std::string_view order) {
  if (!head) return ingest_place::head;
  // Order keys compare as strings in stream order (history::stream_order_key).
  if (!head->started && std::string_view(head->order) > order) return ingest_place::take_over;
  return ingest_place::hold;
}

head_start start_head(std::string_view head_order, std::optional<std::string_view> oldest_pending) {
  // The order key spells a stream id so that string order is numeric order.
  if (oldest_pending && history::stream_order_key(*oldest_pending) < head_order) {
    return head_start::wait;
  }
  return head_start::go;
}

bool releases_next(history::delivery_status status) {
  return status == history::delivery_status::succeeded ||
         status == history::delivery_status::failed;
}

}  // namespace dispatcher::retry
