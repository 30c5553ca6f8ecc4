// A delivery as the API shows it (history/delivery.hpp): status names, the bucket an id
// names, the text rules of packed records, and the JSON of attempts and deliveries. The
// packed records' round trips are in layout_test.cpp.
#include "dispatcher/history/delivery.hpp"

#include <gtest/gtest.h>

namespace dispatcher::history {
namespace {

using json = nlohmann::json;

TEST(history_delivery, status_names_round_trip_and_others_are_refused) {
  for (const auto s : {delivery_status::pending, delivery_status::retrying,
                       delivery_status::succeeded, delivery_status::failed}) {
    EXPECT_EQ(parse_status(to_string(s)), s);
  }
  EXPECT_EQ(to_string(delivery_status::succeeded), "succeeded");
  EXPECT_FALSE(parse_status("Failed"));
  EXPECT_FALSE(parse_status(""));
}

TEST(history_delivery, the_bucket_is_read_from_the_id_and_short_ids_have_none) {
  EXPECT_EQ(bucket_of(delivery_id("evt_1", "ep_1", "0472e3")), "0472e3");
  EXPECT_EQ(bucket_of("dlv_abc"), "");
}

TEST(history_delivery, free_text_loses_its_tabs_and_line_breaks) {
  EXPECT_EQ(record_text("a\tb\nc\r\nd"), "a b c  d");
  EXPECT_EQ(record_text("plain é"), "plain é");
}

TEST(history_delivery, a_stored_attempt_is_one_line_and_shows_with_an_rfc3339_time) {
  attempt_record a;
  a.attempt = 2;
  a.started_at_ms = 1'700'000'000'123;
  a.duration_ms = 40;
  a.error = "timed out\nafter 15000 ms";
  a.response_excerpt = "bad \xff byte";  // receivers send anything
  a.cause = trigger::manual;
  const std::string stored = to_storage(a);
  EXPECT_EQ(stored.find('\n'), std::string::npos);
  const json shown = attempt_json(stored);
  EXPECT_EQ(shown["attempt"], 2);
  EXPECT_EQ(shown["started_at"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(shown["status_code"], nullptr);
  EXPECT_EQ(shown["error"], "timed out\nafter 15000 ms");
  EXPECT_EQ(shown["response_excerpt"], "bad \xef\xbf\xbd byte");  // U+FFFD
  EXPECT_EQ(shown["trigger"], "manual");
}

TEST(history_delivery, a_stored_attempt_is_tab_separated_and_short) {
  // Layout 4: about 30 bytes for an answered attempt, where the JSON object took 125.
  attempt_record a;
  a.attempt = 1;
  a.started_at_ms = 1'700'000'000'123;
  a.duration_ms = 3;
  a.status_code = 204;
  const std::string stored = to_storage(a);
  EXPECT_EQ(stored, "1\t1700000000123\t3\t204\ts\t\t\"\"");
  const json shown = attempt_json(stored);
  EXPECT_EQ(shown["status_code"], 204);
  EXPECT_EQ(shown["error"], nullptr);
  EXPECT_EQ(shown["response_excerpt"], "");
  EXPECT_EQ(shown["trigger"], "scheduled");
  EXPECT_EQ(shown["duration_ms"], 3);
  // A tab in the texts stays in its field.
  a.error = "a\tb";
  a.response_excerpt = "c\td";
  const json tabs = attempt_json(to_storage(a));
  EXPECT_EQ(tabs["error"], "a\tb");
  EXPECT_EQ(tabs["response_excerpt"], "c\td");
  // A layout-3 line (a JSON object) written by hand still shows.
  EXPECT_EQ(attempt_json(R"({"attempt":1,"started_at":0,"trigger":"manual"})")["started_at"],
            "1970-01-01T00:00:00Z");
}

TEST(history_delivery, a_damaged_attempt_line_shows_as_an_empty_object) {
  EXPECT_EQ(attempt_json("not json"), json::object());
  EXPECT_EQ(attempt_json("[1,2]"), json::object());
  EXPECT_EQ(attempt_json("1\t2\t3\t204\tx\t\t\"\""), json::object()) << "unknown trigger";
  EXPECT_EQ(attempt_json("1\t2\t3\t204\ts\tnot-a-string\t\"\""), json::object());
  EXPECT_EQ(attempt_json("1\t2\t3\t204\ts\t\t\"\"\textra"), json::object());
}

TEST(history_delivery, delivery_json_takes_event_fields_from_the_event_record) {
  delivery_record d;
  d.status = delivery_status::retrying;
  d.attempt_count = 3;
  d.last_status_code = 503;
  d.next_attempt_at_ms = 1'700'000'060'000;
  d.created_at_ms = 1'700'000'000'000;
  d.updated_at_ms = 1'700'000'030'000;
  d.event_id = "evt_1";
  d.endpoint_id = "ep_1";
  event_record e;
  e.type = "account.connection.created";
  e.consumerid = "c1";
  const json j = delivery_json("dlv_x", d, &e);
  EXPECT_EQ(j["id"], "dlv_x");
  EXPECT_EQ(j["event"], "account.connection.created");
  EXPECT_EQ(j["consumerid"], "c1");
  EXPECT_EQ(j["connectionid"], nullptr);  // empty in the record: null in the API
  EXPECT_EQ(j["status"], "retrying");
  EXPECT_EQ(j["last_status_code"], 503);
  EXPECT_EQ(j["last_error"], nullptr);
  EXPECT_EQ(j["next_attempt_at"], "2023-11-14T22:14:20Z");
  EXPECT_EQ(j["created_at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["updated_at"], "2023-11-14T22:13:50Z");
}

TEST(history_delivery, without_its_event_a_delivery_shows_nulls_for_the_events_fields) {
  delivery_record d;
  d.event_id = "evt_1";
  const json j = delivery_json("dlv_x", d, nullptr);
  EXPECT_EQ(j["event"], nullptr);
  EXPECT_EQ(j["consumerid"], nullptr);
  EXPECT_EQ(j["connectionid"], nullptr);
  EXPECT_EQ(j["endpoint_id"], nullptr);
  EXPECT_EQ(j["next_attempt_at"], nullptr);
  EXPECT_EQ(j["event_id"], "evt_1");
}

}  // namespace
}  // namespace dispatcher::history
