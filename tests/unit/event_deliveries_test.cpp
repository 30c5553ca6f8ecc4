// The one reader of an event's deliveries (history/event_deliveries.hpp), shared by the
// event view and the connection's delivery list: the HMGET it sends and how it reads a
// reply in which some deliveries are gone or damaged.
#include "dispatcher/history/event_deliveries.hpp"

#include <gtest/gtest.h>

#include "tests/support/replies.hpp"

namespace dispatcher::history {
namespace {

using testing::array_reply;
using testing::string_reply;

event_record event_with(std::vector<std::string> delivery_ids) {
  event_record e;
  e.type = "account.connection.created";
  e.delivery_ids = std::move(delivery_ids);
  return e;
}

std::string packed(delivery_status status, std::int64_t created_at_ms) {
  delivery_record d;
  d.status = status;
  d.created_at_ms = created_at_ms;
  d.event_id = "evt_1";
  d.endpoint_id = "ep_a";
  return pack(d);
}

TEST(event_deliveries, asks_for_every_delivery_field_of_the_event_in_its_bucket) {
  std::string wire;
  event_deliveries_command("bucket:key", event_with({"dlv_a", "dlv_b"})).append_to(wire);
  EXPECT_EQ(wire, "*4\r\n$5\r\nHMGET\r\n$10\r\nbucket:key\r\n$7\r\nd:dlv_a\r\n$7\r\nd:dlv_b\r\n");
}

TEST(event_deliveries, reads_them_in_the_events_order_leaving_out_gone_and_damaged_ones) {
  const auto event = event_with({"dlv_a", "dlv_b", "dlv_c", "dlv_d"});
  const auto reply = array_reply({string_reply(packed(delivery_status::failed, 2)), redis::reply{},
                                  string_reply("not a record"),
                                  string_reply(packed(delivery_status::pending, 1))});
  const auto read = read_event_deliveries(event, reply);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].id, "dlv_a");
  EXPECT_EQ(read[0].record.status, delivery_status::failed);
  EXPECT_EQ(read[0].record.created_at_ms, 2);
  EXPECT_EQ(read[1].id, "dlv_d");
  EXPECT_EQ(read[1].record.status, delivery_status::pending);
}

TEST(event_deliveries, a_reply_of_another_length_is_read_only_as_far_as_both_go) {
  const auto event = event_with({"dlv_a", "dlv_b"});
  const auto longer = array_reply({string_reply(packed(delivery_status::failed, 1)),
                                   string_reply(packed(delivery_status::failed, 2)),
                                   string_reply(packed(delivery_status::failed, 3))});
  EXPECT_EQ(read_event_deliveries(event, longer).size(), 2u);
  const auto shorter = array_reply({string_reply(packed(delivery_status::failed, 1))});
  ASSERT_EQ(read_event_deliveries(event, shorter).size(), 1u);
  EXPECT_TRUE(read_event_deliveries(event, redis::reply{}).empty());
}

}  // namespace
}  // namespace dispatcher::history
