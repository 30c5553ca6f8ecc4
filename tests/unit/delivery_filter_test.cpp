// Delivery list filters (CONTRACT §6): `event` takes an exact type or a `prefix.*` wildcard,
// the grammar of endpoint filters; status and type have no index and are matched on each
// record; an unknown parameter's error lists the valid ones.
#include "dispatcher/history/filter.hpp"

#include <gtest/gtest.h>

#include "dispatcher/replay/request.hpp"

namespace dispatcher::history {
namespace {

delivery_filter parse_ok(const std::map<std::string, std::string>& params) {
  auto parsed = parse_delivery_filter(params);
  if (auto* bad = std::get_if<filter_error>(&parsed)) {
    ADD_FAILURE() << bad->field << ": " << bad->message;
    return {};
  }
  return std::get<delivery_filter>(parsed);
}

const redis::keyspace keys("lifecycle:events");

delivery_record failed_delivery() {
  delivery_record d;
  d.status = delivery_status::failed;
  d.created_at_ms = d.updated_at_ms = 1000;
  d.event_id = "evt_1";
  d.endpoint_id = "ep_1";
  return d;
}

/// Whether a failed delivery of an event of this type matches.
bool matches_type(const delivery_filter& f, const std::string& type) {
  event_record e;
  e.type = type;
  e.consumerid = "c1";
  return matches(f, failed_delivery(), &e);
}

TEST(delivery_filter, event_wildcard_matches_by_prefix_at_a_dot) {
  const auto f = parse_ok({{"event", "account.connection.*"}});
  EXPECT_TRUE(matches_type(f, "account.connection.created"));
  EXPECT_TRUE(matches_type(f, "account.connection.deleted"));
  EXPECT_FALSE(matches_type(f, "account.connections.created"));
  EXPECT_FALSE(matches_type(f, "account.other"));
  // Without its event record a condition on the type cannot hold.
  EXPECT_FALSE(matches(f, failed_delivery(), nullptr));
  EXPECT_EQ(index_key(keys, f), "{lifecycle:events}:i:all");
}

TEST(delivery_filter, exact_event_and_status_are_matched_on_the_records) {
  const auto f = parse_ok({{"event", "account.connection.created"}, {"status", "failed"}});
  EXPECT_TRUE(matches_type(f, "account.connection.created"));
  EXPECT_FALSE(matches_type(f, "account.connection.updated"));
  auto retrying = failed_delivery();
  retrying.status = delivery_status::retrying;
  event_record e;
  e.type = "account.connection.created";
  EXPECT_FALSE(matches(f, retrying, &e));
  EXPECT_EQ(index_key(keys, f), "{lifecycle:events}:i:all");
}

TEST(delivery_filter, the_most_selective_index_is_walked) {
  EXPECT_EQ(index_key(keys, parse_ok({{"endpoint_id", "ep_1"}, {"consumerid", "c1"}})),
            "{lifecycle:events}:i:consumer:c1");
  EXPECT_EQ(index_key(keys, parse_ok({{"endpoint_id", "ep_1"}, {"status", "failed"}})),
            "{lifecycle:events}:i:ep:ep_1");
}

TEST(delivery_filter, filters_on_event_attributes_walk_an_index_of_events) {
  EXPECT_TRUE(index_holds_events(parse_ok({})));
  EXPECT_TRUE(index_holds_events(parse_ok({{"status", "failed"}, {"event", "a.b"}})));
  EXPECT_TRUE(index_holds_events(parse_ok({{"consumerid", "c1"}})));
  EXPECT_TRUE(index_holds_events(parse_ok({{"endpoint_id", "ep_1"}, {"consumerid", "c1"}})));
  EXPECT_FALSE(index_holds_events(parse_ok({{"endpoint_id", "ep_1"}, {"status", "failed"}})));
}

TEST(delivery_filter, a_cursor_inside_an_event_resumes_at_its_next_delivery) {
  const std::vector<std::string> ids{"dlv_a01", "dlv_a03", "dlv_a02", "dlv_a04"};
  // No cursor: the event's deliveries, ids descending.
  EXPECT_EQ(deliveries_in_walk(ids, 5, "evt_m", std::nullopt),
            (std::vector<std::string>{"dlv_a04", "dlv_a03", "dlv_a02", "dlv_a01"}));
  const cursor inside{5, "dlv_a03", "evt_m"};
  EXPECT_EQ(deliveries_in_walk(ids, 5, "evt_m", inside),
            (std::vector<std::string>{"dlv_a02", "dlv_a01"}));
  // Events of the cursor's time come in reverse order: one above it was on earlier pages,
  // one below it is all new; another time is not the cursor's.
  EXPECT_TRUE(deliveries_in_walk(ids, 5, "evt_z", inside).empty());
  EXPECT_EQ(deliveries_in_walk(ids, 5, "evt_a", inside).size(), 4u);
  EXPECT_EQ(deliveries_in_walk(ids, 4, "evt_z", inside).size(), 4u);
  // Past a whole event: "dlv_" sorts below every delivery id.
  EXPECT_TRUE(deliveries_in_walk(ids, 5, "evt_m", cursor{5, "dlv_", "evt_m"}).empty());
  // A cursor of a walk of deliveries (no event) goes by the delivery id alone.
  EXPECT_EQ(deliveries_in_walk(ids, 5, "evt_q", cursor{5, "dlv_a02", ""}),
            (std::vector<std::string>{"dlv_a01"}));
}

TEST(delivery_filter, a_cursor_carries_its_event_after_a_tilde) {
  const cursor c{1'700'000'000'123, "dlv_0472e3abcdef0123456789ab", "evt_1700-0:x.y"};
  EXPECT_EQ(encode_cursor(c), "1700000000123_dlv_0472e3abcdef0123456789ab~evt_1700-0:x.y");
  const auto back = decode_cursor(encode_cursor(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->score, c.score);
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(back->event, c.event);
  EXPECT_EQ(decode_cursor("5_dlv_~e")->id, "dlv_");
  EXPECT_TRUE(decode_cursor("5_dlv_a")->event.empty());
  for (const char* bad : {"5_dlv_a~", "5_~e", "5_evt~dlv_a"})
    EXPECT_FALSE(decode_cursor(bad)) << bad;
}

TEST(delivery_filter, time_window_is_checked_on_created_at) {
  const auto f = parse_ok({{"since", "1"}, {"until", "2"}});  // unix seconds: [1000, 2000)
  auto d = failed_delivery();
  EXPECT_TRUE(matches(f, d, nullptr));
  d.created_at_ms = 2000;
  EXPECT_FALSE(matches(f, d, nullptr));
  d.created_at_ms = 999;
  EXPECT_FALSE(matches(f, d, nullptr));
}

TEST(delivery_filter, event_that_is_neither_a_type_nor_a_prefix_is_refused) {
  for (const std::string bad : {"account.connection*", "*", "account..*", "Account.x", ".*"}) {
    auto parsed = parse_delivery_filter({{"event", bad}});
    ASSERT_TRUE(std::holds_alternative<filter_error>(parsed)) << bad;
    EXPECT_EQ(std::get<filter_error>(parsed).field, "event");
    EXPECT_NE(std::get<filter_error>(parsed).message.find(".*"), std::string::npos);
  }
}

TEST(delivery_filter, unknown_parameter_error_lists_the_valid_ones) {
  auto parsed = parse_delivery_filter({{"endpoint", "ep_1"}});
  ASSERT_TRUE(std::holds_alternative<filter_error>(parsed));
  const auto& e = std::get<filter_error>(parsed);
  EXPECT_EQ(e.field, "endpoint");
  for (const char* name : {"status", "endpoint_id", "event", "consumerid", "connectionid", "since",
                           "until", "limit", "cursor"}) {
    EXPECT_NE(e.message.find(name), std::string::npos) << name << " missing from: " << e.message;
  }
}

TEST(delivery_filter, bulk_replay_takes_the_wildcard_too) {
  auto parsed = replay::parse_bulk_retry(nlohmann::json{{"event", "account.connection.*"}});
  ASSERT_TRUE(std::holds_alternative<replay::bulk_request>(parsed));
  const auto& f = std::get<replay::bulk_request>(parsed).filter;
  EXPECT_TRUE(matches_type(f, "account.connection.updated"));
  EXPECT_FALSE(matches_type(f, "billing.invoice.paid"));
}

TEST(delivery_filter, a_cursor_round_trips_and_foreign_cursors_are_refused) {
  const cursor c{1'700'000'000'123, "dlv_0472e3abcdef0123456789ab", {}};
  const auto back = decode_cursor(encode_cursor(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->score, c.score);
  EXPECT_EQ(back->id, c.id);
  // An id may hold underscores itself: only the first one separates.
  EXPECT_EQ(decode_cursor("5_dlv_a_b")->id, "dlv_a_b");
  for (const char* bad : {"", "_dlv_1", "5_", "5", "x_dlv_1", "5_evt_1", "5x_dlv_1"}) {
    EXPECT_FALSE(decode_cursor(bad)) << bad;
  }
  EXPECT_EQ(parse_ok({{"cursor", encode_cursor(c)}}).after->id, c.id);
  const auto refused = parse_delivery_filter({{"cursor", "5_evt_1"}});
  ASSERT_TRUE(std::holds_alternative<filter_error>(refused));
  EXPECT_EQ(std::get<filter_error>(refused).field, "cursor");
}

TEST(delivery_filter, limit_is_an_integer_from_1_to_500) {
  EXPECT_EQ(parse_ok({}).limit, 50u);
  EXPECT_EQ(parse_ok({{"limit", "1"}}).limit, 1u);
  EXPECT_EQ(parse_ok({{"limit", "500"}}).limit, 500u);
  for (const char* bad : {"0", "501", "-1", "10x", "", " 5"}) {
    EXPECT_TRUE(std::holds_alternative<filter_error>(parse_delivery_filter({{"limit", bad}})))
        << bad;
  }
}

TEST(delivery_filter, status_and_ids_are_checked_as_they_are_parsed) {
  EXPECT_EQ(parse_ok({{"status", "retrying"}}).status, delivery_status::retrying);
  EXPECT_TRUE(std::holds_alternative<filter_error>(parse_delivery_filter({{"status", "done"}})));
  EXPECT_TRUE(std::holds_alternative<filter_error>(parse_delivery_filter({{"consumerid", ""}})));
  EXPECT_TRUE(std::holds_alternative<filter_error>(
      parse_delivery_filter({{"endpoint_id", std::string(257, 'e')}})));
}

TEST(delivery_filter, conditions_on_the_event_fail_when_its_record_is_gone) {
  const auto by_consumer = parse_ok({{"consumerid", "c1"}});
  EXPECT_FALSE(matches(by_consumer, failed_delivery(), nullptr));
  // Conditions on the delivery alone still hold without it.
  EXPECT_TRUE(matches(parse_ok({{"status", "failed"}}), failed_delivery(), nullptr));
  EXPECT_FALSE(matches(parse_ok({{"endpoint_id", "ep_2"}}), failed_delivery(), nullptr));
}

}  // namespace
}  // namespace dispatcher::history
