// A delivery as the API shows it (history/delivery.hpp): status names, the bucket an id
// names, the text rules of packed records, and the JSON of attempts and deliveries. The
// packed records' round trips are in layout_test.cpp.
#include "dispatcher/history/delivery.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "dispatcher/signing/signature.hpp"

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

TEST(history_delivery, delivery_ids_are_the_bucket_and_18_hex_digits_of_the_pair_hash) {
  // Pinned: python3 -c "import hashlib; print(hashlib.sha256(b'evt_1\nep_1').hexdigest()[:18])"
  EXPECT_EQ(delivery_id("evt_1", "ep_1", "0472e3"), "dlv_0472e3cd55d7087ba97733a0");
  for (const auto& [event, endpoint] :
       std::vector<std::pair<std::string, std::string>>{{"evt_1", "ep_1"},
                                                        {"", ""},
                                                        {std::string(300, 'e'), "ep_\n"},
                                                        {"evt_api_x", std::string(1, '\0')}}) {
    EXPECT_EQ(delivery_id(event, endpoint, "00abcd"),
              "dlv_00abcd" + signing::sha256_hex(event + "\n" + endpoint).substr(0, 18));
  }
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

// The attempt line with its free texts as nlohmann dumps a string: to_storage escapes by
// hand, and must write exactly that.
std::string reference_storage(const attempt_record& a) {
  const auto dumped = [](const std::string& text) {
    return json(text).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  std::string out = std::to_string(a.attempt) + "\t" + std::to_string(a.started_at_ms) + "\t" +
                    std::to_string(a.duration_ms) + "\t" +
                    (a.status_code ? std::to_string(*a.status_code) : std::string()) +
                    (a.cause == trigger::manual ? "\tm\t" : "\ts\t");
  if (!a.error.empty()) out += dumped(a.error);
  return out + "\t" + dumped(a.response_excerpt);
}

TEST(history_delivery, attempt_texts_are_escaped_byte_for_byte_as_nlohmann_escapes_them) {
  attempt_record a;
  a.started_at_ms = 1'700'000'000'123;
  a.duration_ms = 3;
  a.status_code = 200;
  a.response_excerpt = "ok";
  EXPECT_EQ(to_storage(a), "1\t1700000000123\t3\t200\ts\t\t\"ok\"");
  EXPECT_EQ(to_storage(a), reference_storage(a));

  // Every byte alone and next to others, in both free-text members.
  for (int byte = 0; byte < 256; ++byte) {
    const std::string text =
        std::string(1, static_cast<char>(byte)) + "a\"" + std::string(1, static_cast<char>(byte));
    a.error = text;
    a.response_excerpt = "x" + text;
    EXPECT_EQ(to_storage(a), reference_storage(a)) << byte;
  }
  // Numbers at their extremes, null members, a manual trigger.
  a.attempt = std::numeric_limits<int>::min();
  a.started_at_ms = std::numeric_limits<std::int64_t>::min();
  a.duration_ms = std::numeric_limits<std::int64_t>::max();
  a.status_code.reset();
  a.error.clear();
  a.response_excerpt.clear();
  a.cause = trigger::manual;
  EXPECT_EQ(to_storage(a), reference_storage(a));
  a.attempt = std::numeric_limits<int>::max();
  a.status_code = -1;
  EXPECT_EQ(to_storage(a), reference_storage(a));

  // Random text from pieces that need every kind of treatment: plain, escaped, UTF-8 of
  // each length, a cut sequence, bytes that are never UTF-8.
  const std::string_view pieces[] = {"a",
                                     " ",
                                     "\"",
                                     "\\",
                                     "\n",
                                     "\t",
                                     "\x01",
                                     "\x1f",
                                     "\x7f",
                                     "/",
                                     "\xc3\xa9",
                                     "\xe2\x82\xac",
                                     "\xf0\x9f\x98\x80",
                                     "\xc3",
                                     "\xe2\x82",
                                     "\xff",
                                     "\x80",
                                     "\xed\xa0\x80"};
  std::mt19937 random(9);
  for (int round = 0; round < 2'000; ++round) {
    std::string error, excerpt;
    for (int n = static_cast<int>(random() % 8); n > 0; --n) {
      error += pieces[random() % std::size(pieces)];
    }
    for (int n = static_cast<int>(random() % 8); n > 0; --n) {
      excerpt += pieces[random() % std::size(pieces)];
    }
    a.error = error;
    a.response_excerpt = excerpt;
    a.attempt = static_cast<int>(random() % 100);
    a.started_at_ms = static_cast<std::int64_t>(random());
    a.status_code =
        random() % 2 ? std::optional<int>(static_cast<int>(random() % 600)) : std::nullopt;
    EXPECT_EQ(to_storage(a), reference_storage(a)) << round;
  }
}

// What pack(delivery_record) wrote before it appended in place: packed records must not
// change.
std::string reference_pack(const delivery_record& r) {
  const auto optional_text = [](const auto& v) { return v ? std::to_string(*v) : std::string(); };
  std::string out;
  for (const std::string& field :
       {std::string(to_string(r.status)), std::to_string(r.attempt_count),
        optional_text(r.last_status_code), optional_text(r.next_attempt_at_ms),
        std::to_string(r.created_at_ms), std::to_string(r.updated_at_ms),
        std::string(r.manual ? "1" : "0"), r.event_id, r.endpoint_id}) {
    out.append(field).append("\t");
  }
  out.append(record_text(r.last_error));
  for (const auto& a : r.attempts) out.append("\n").append(a);
  return out;
}

TEST(history_delivery, packed_delivery_records_are_byte_for_byte_the_earlier_form) {
  delivery_record r;
  r.event_id = "evt_1";
  r.created_at_ms = 1'700'000'000'000;
  r.updated_at_ms = 1'700'000'000'005;
  EXPECT_EQ(pack(r), "pending\t0\t\t\t1700000000000\t1700000000005\t0\tevt_1\t\t");
  EXPECT_EQ(pack(r), reference_pack(r));

  const std::string_view texts[] = {"", "x", "timed out\tafter\n15 s\r", "é", "\t\t", "a b"};
  std::mt19937 random(11);
  for (int round = 0; round < 2'000; ++round) {
    r.status = static_cast<delivery_status>(random() % 4);
    r.attempt_count = static_cast<int>(random() % 20) - 2;
    r.last_status_code =
        random() % 2 ? std::optional<int>(static_cast<int>(random() % 600)) : std::nullopt;
    r.next_attempt_at_ms = random() % 2 ? std::optional<std::int64_t>(-5 + random()) : std::nullopt;
    r.created_at_ms = random() % 3 ? static_cast<std::int64_t>(random())
                                   : std::numeric_limits<std::int64_t>::min();
    r.updated_at_ms = std::numeric_limits<std::int64_t>::max() - random();
    r.manual = random() % 2;
    r.event_id = std::string(texts[random() % std::size(texts)]) + "evt";
    r.endpoint_id = texts[random() % std::size(texts)];
    r.last_error = std::string(texts[random() % std::size(texts)]) +
                   std::string(texts[random() % std::size(texts)]);
    r.attempts.clear();
    for (int n = static_cast<int>(random() % 3); n > 0; --n) {
      r.attempts.emplace_back(texts[random() % std::size(texts)]);
    }
    ASSERT_EQ(pack(r), reference_pack(r)) << round;
    // The first attempt's record, its line passed alongside: as if it were in r.attempts.
    const std::string attempt(texts[random() % std::size(texts)]);
    auto with = r;
    if (!attempt.empty()) with.attempts.push_back(attempt);
    ASSERT_EQ(pack(r, attempt), reference_pack(with)) << round;
  }
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
