// Delivery list filters (CONTRACT §6): `event` takes an exact type or a `prefix.*` wildcard,
// the grammar of endpoint filters; a wildcard scans a broader index and matches each
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

stored_fields record(const std::string& event) {
  return {{"event", event}, {"status", "failed"}, {"created_at", "1000"}};
}

TEST(delivery_filter, event_wildcard_matches_by_prefix_at_a_dot) {
  const auto f = parse_ok({{"event", "account.connection.*"}});
  EXPECT_TRUE(matches(f, record("account.connection.created")));
  EXPECT_TRUE(matches(f, record("account.connection.deleted")));
  EXPECT_FALSE(matches(f, record("account.connections.created")));
  EXPECT_FALSE(matches(f, record("account.other")));
  EXPECT_FALSE(matches(f, stored_fields{{"status", "failed"}}));
  // Not the per-type index (there is no "idx:dlv:type:account.connection.*").
  EXPECT_EQ(index_key(f), "idx:dlv");
  EXPECT_EQ(index_key(parse_ok({{"event", "account.*"}, {"status", "failed"}})),
            "idx:dlv:status:failed");
}

TEST(delivery_filter, exact_event_still_uses_its_type_index) {
  const auto f = parse_ok({{"event", "account.connection.created"}});
  EXPECT_TRUE(matches(f, record("account.connection.created")));
  EXPECT_FALSE(matches(f, record("account.connection.updated")));
  EXPECT_EQ(index_key(f), "idx:dlv:type:account.connection.created");
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
  EXPECT_TRUE(matches(f, record("account.connection.updated")));
  EXPECT_FALSE(matches(f, record("billing.invoice.paid")));
}

}  // namespace
}  // namespace dispatcher::history
