// The dead-letter routes' pure parts: their parameters and retry body, the shape of a dead
// letter in the API, and the reading of XRANGE replies (CONTRACT section 6).
#include "dispatcher/ingest/dead_letter.hpp"

#include <gtest/gtest.h>

#include "tests/support/replies.hpp"

namespace dispatcher::ingest {
namespace {

using json = nlohmann::json;

dead_letter_query query_ok(const std::map<std::string, std::string>& q) {
  auto parsed = parse_dead_letter_query(q);
  if (auto* bad = std::get_if<dead_letter_input_error>(&parsed)) {
    ADD_FAILURE() << bad->message;
    return {};
  }
  return std::get<dead_letter_query>(parsed);
}

dead_letter_input_error query_error(const std::map<std::string, std::string>& q) {
  auto parsed = parse_dead_letter_query(q);
  if (std::holds_alternative<dead_letter_query>(parsed)) {
    ADD_FAILURE() << "accepted";
    return {};
  }
  return std::get<dead_letter_input_error>(parsed);
}

TEST(dead_letters, the_list_takes_limit_and_cursor) {
  EXPECT_EQ(query_ok({}).limit, 50u);
  EXPECT_FALSE(query_ok({}).after);
  EXPECT_EQ(query_ok({{"limit", "1"}}).limit, 1u);
  EXPECT_EQ(query_ok({{"limit", "500"}}).limit, 500u);
  EXPECT_EQ(query_ok({{"cursor", "1700000000000-3"}}).after, "1700000000000-3");

  for (const auto* bad : {"0", "501", "-1", "ten", "", "5x"}) {
    EXPECT_EQ(query_error({{"limit", bad}}).field, "limit") << bad;
  }
  // The cursor goes into XREVRANGE: only a stream id may.
  for (const auto* bad : {"", "+", "-", "abc", "1-2 COUNT 1", "(1-0"}) {
    const auto e = query_error({{"cursor", bad}});
    EXPECT_EQ(e.field, "cursor") << bad;
    EXPECT_EQ(e.message, "cursor is not one this API returned");
  }
  const auto unknown = query_error({{"status", "failed"}});
  EXPECT_EQ(unknown.field, "status");
  EXPECT_EQ(unknown.message, "unknown parameter 'status'; valid parameters: limit, cursor");
}

TEST(dead_letters, a_retry_body_is_empty_or_a_corrected_payload_object) {
  EXPECT_EQ(std::get<std::optional<std::string>>(parse_retry_body(json::object())), std::nullopt);
  const json corrected = {{"payload", {{"event", "a.b"}, {"created", 1}}}};
  const auto payload = std::get<std::optional<std::string>>(parse_retry_body(corrected));
  ASSERT_TRUE(payload);
  EXPECT_EQ(json::parse(*payload), corrected["payload"]);

  for (const json& bad : {json{{"payload", "{\"event\":\"a.b\"}"}}, json{{"payload", nullptr}},
                          json{{"payload", json::array()}}}) {
    const auto e = std::get<dead_letter_input_error>(parse_retry_body(bad));
    EXPECT_EQ(e.field, "payload") << bad.dump();
  }
  const auto e = std::get<dead_letter_input_error>(parse_retry_body({{"paylod", json::object()}}));
  EXPECT_EQ(e.field, "paylod");
}

using testing::array_reply;
using testing::string_reply;

TEST(dead_letters, entries_are_read_from_a_range_reply) {
  const auto reply = array_reply({
      array_reply({string_reply("1700000000123-0"),
                   array_reply({string_reply("payload"), string_reply("{not json"),
                                string_reply("error"), string_reply("payload is not valid JSON"),
                                string_reply("source_id"), string_reply("1699-7")})}),
      string_reply("not an entry"),
      array_reply({string_reply("1700000000124-1"),
                   array_reply({string_reply("error"), string_reply("stream entry has no 'payload' "
                                                                    "field")})}),
  });
  const auto letters = to_dead_letters(reply);
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].id, "1700000000123-0");
  EXPECT_EQ(letters[0].payload, "{not json");
  EXPECT_EQ(letters[0].error, "payload is not valid JSON");
  EXPECT_EQ(letters[0].source_id, "1699-7");
  EXPECT_EQ(letters[1].id, "1700000000124-1");
  EXPECT_EQ(letters[1].payload, "");
  EXPECT_EQ(letters[1].error, "stream entry has no 'payload' field");
  EXPECT_TRUE(to_dead_letters(string_reply("x")).empty());
}

TEST(dead_letters, the_api_shows_id_payload_error_source_and_time) {
  const auto j = to_api_json({"1700000000123-4", "{bad", "payload is not valid JSON", "1-0"});
  EXPECT_EQ(j, (json{{"id", "1700000000123-4"},
                     {"payload", "{bad"},
                     {"error", "payload is not valid JSON"},
                     {"source_id", "1-0"},
                     {"at", "2023-11-14T22:13:20.123Z"}}));
  // An id written by hand past year 9999 has no time to show, and does not throw.
  EXPECT_TRUE(to_api_json({"999999999999999999-0", "", "", ""})["at"].is_null());
  EXPECT_EQ(stream_id_ms("1700000000123-4"), 1700000000123);
  EXPECT_FALSE(stream_id_ms("x-1"));
}

}  // namespace
}  // namespace dispatcher::ingest
