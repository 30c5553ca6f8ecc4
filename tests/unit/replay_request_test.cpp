// Bulk replay and recover bodies: defaults, every filter, and errors naming the field.
#include "dispatcher/replay/request.hpp"

#include <gtest/gtest.h>

namespace dispatcher::replay {
namespace {

using json = nlohmann::json;

bulk_request ok(const std::variant<bulk_request, history::filter_error>& parsed) {
  if (auto* bad = std::get_if<history::filter_error>(&parsed)) {
    ADD_FAILURE() << bad->field << ": " << bad->message;
    return {};
  }
  return std::get<bulk_request>(parsed);
}

std::string field_of(const std::variant<bulk_request, history::filter_error>& parsed) {
  auto* bad = std::get_if<history::filter_error>(&parsed);
  return bad ? bad->field : "";
}

TEST(replay_request, an_empty_body_replays_failed_deliveries) {
  const auto r = ok(parse_bulk_retry(json::object()));
  EXPECT_EQ(r.filter.status, history::delivery_status::failed);
  EXPECT_FALSE(r.dry_run);
  EXPECT_FALSE(r.filter.endpoint_id);
}

TEST(replay_request, takes_every_filter_and_dry_run) {
  const auto r = ok(parse_bulk_retry({{"status", "succeeded"},
                                      {"endpoint_id", "ep_1"},
                                      {"event", "account.connection.created"},
                                      {"consumerid", "c"},
                                      {"connectionid", "k"},
                                      {"since", 1700000000},
                                      {"until", "2023-11-15T00:00:00Z"},
                                      {"dry_run", true}}));
  EXPECT_EQ(r.filter.status, history::delivery_status::succeeded);
  EXPECT_EQ(r.filter.endpoint_id, "ep_1");
  EXPECT_EQ(r.filter.event, "account.connection.created");
  EXPECT_EQ(r.filter.consumerid, "c");
  EXPECT_EQ(r.filter.connectionid, "k");
  EXPECT_EQ(r.filter.since_ms, 1700000000000);
  EXPECT_EQ(r.filter.until_ms, 1700006400000);
  EXPECT_TRUE(r.dry_run);
}

TEST(replay_request, errors_name_the_field) {
  EXPECT_EQ(field_of(parse_bulk_retry({{"endpoint", "ep_1"}})), "endpoint");  // misspelt
  EXPECT_EQ(field_of(parse_bulk_retry({{"status", "retrying"}})), "status");
  EXPECT_EQ(field_of(parse_bulk_retry({{"status", "broken"}})), "status");
  EXPECT_EQ(field_of(parse_bulk_retry({{"since", "yesterday"}})), "since");
  EXPECT_EQ(field_of(parse_bulk_retry({{"since", true}})), "since");
  EXPECT_EQ(field_of(parse_bulk_retry({{"endpoint_id", 5}})), "endpoint_id");
  EXPECT_EQ(field_of(parse_bulk_retry({{"dry_run", "yes"}})), "dry_run");
  EXPECT_EQ(field_of(parse_bulk_retry({{"limit", "5"}})), "limit");
  EXPECT_EQ(field_of(parse_bulk_retry({{"since", 200}, {"until", 100}})), "until");
}

TEST(replay_request, recover_is_the_endpoints_failed_deliveries_in_the_window) {
  const auto r = ok(parse_recover({{"since", 100}, {"until", 200}}, "ep_9"));
  EXPECT_EQ(r.filter.endpoint_id, "ep_9");
  EXPECT_EQ(r.filter.status, history::delivery_status::failed);
  EXPECT_EQ(r.filter.since_ms, 100000);
  EXPECT_EQ(r.filter.until_ms, 200000);
  EXPECT_EQ(ok(parse_recover(json::object(), "ep_9")).filter.status,
            history::delivery_status::failed);
  EXPECT_EQ(field_of(parse_recover({{"status", "succeeded"}}, "ep_9")), "status");
  EXPECT_EQ(field_of(parse_recover({{"endpoint_id", "ep_other"}}, "ep_9")), "endpoint_id");
}

}  // namespace
}  // namespace dispatcher::replay
