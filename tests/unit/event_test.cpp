// Stream payload validation (CONTRACT section 1) and the byte-exact body.
#include "dispatcher/ingest/event.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/json.hpp"

namespace dispatcher::ingest {
namespace {

constexpr std::size_t max_payload = 262144;
constexpr std::string_view entry_id = "1700000000000-0";

constexpr std::string_view account = "0b7c1f0e-6a0e-4d0a-9d5e-1f3a2b4c5d6e";
constexpr std::string_view consumer = "8f14e45f-ceea-4c6e-9a1b-2c3d4e5f6a7b";
constexpr std::string_view connection = "C9F0F895-FB98-4B91-8C3A-1D2E3F4A5B6C";

// A valid account.connection.created payload, with `extra` spliced in before the end.
std::string connection_payload(std::string_view extra = "",
                               std::string_view type = "account.connection.created") {
  return R"({"event":")" + std::string(type) + R"(","accountid":")" + std::string(account) +
         R"(","consumerid":")" + std::string(consumer) + R"(","connectionid":")" +
         std::string(connection) + R"(","status":"active","created":1700000000)" +
         std::string(extra) + "}";
}

event parse_ok(std::string_view payload) {
  auto result = parse_event(payload, entry_id, max_payload);
  if (auto* error = std::get_if<validation_error>(&result)) {
    ADD_FAILURE() << payload << ": " << error->message;
    return {};
  }
  return std::get<event>(result);
}

std::string parse_error(std::string_view payload, std::size_t max = max_payload) {
  auto result = parse_event(payload, entry_id, max);
  if (std::holds_alternative<event>(result)) {
    ADD_FAILURE() << payload << " was accepted";
    return {};
  }
  return std::get<validation_error>(result).message;
}

TEST(event, valid_connection_event_is_parsed_into_its_fields) {
  const event ev = parse_ok(connection_payload(R"(,"id":"evt-42")"));
  EXPECT_EQ(ev.id, "evt-42");
  EXPECT_EQ(ev.type, "account.connection.created");
  EXPECT_EQ(ev.accountid, account);
  EXPECT_EQ(ev.consumerid, consumer);
  EXPECT_EQ(ev.connectionid, connection);
  EXPECT_EQ(ev.status, "active");
  EXPECT_EQ(ev.created, 1700000000);
}

TEST(event, body_is_the_payload_unchanged_when_id_is_given) {
  const std::string payload =
      "{ \"id\" : \"abc:1\" ,\n \"event\":\"invoice.paid\", \"accountid\":\"" +
      std::string(account) + "\", \"consumerid\":\"" + std::string(consumer) +
      "\", \"created\": 1, \"amount\": 1.10, \"big\": 123456789012345678901234567890 }";
  EXPECT_EQ(parse_ok(payload).body, payload);
}

TEST(event, id_defaults_to_evt_entry_id_and_is_spliced_after_the_brace) {
  const std::string payload = connection_payload();
  const event ev = parse_ok(payload);
  EXPECT_EQ(ev.id, "evt_1700000000000-0");
  EXPECT_EQ(ev.body, R"({"id":"evt_1700000000000-0",)" + payload.substr(1));
}

TEST(event, inserted_id_keeps_number_formatting_and_key_order_byte_for_byte) {
  const std::string tail = R"( "zeta": 1.10, "alpha": 1e3, "big": 123456789012345678901234567890,)"
                           R"( "event": "invoice.paid", "created": 5, "accountid": ")" +
                           std::string(account) + R"(", "consumerid": ")" + std::string(consumer) +
                           R"(", "name": "caf\u00e9 é" })";
  const event ev = parse_ok("{" + tail);
  EXPECT_EQ(ev.body, R"({"id":"evt_1700000000000-0",)" + tail);
  // And the result is still JSON with the id member readable.
  EXPECT_EQ(nlohmann::json::parse(ev.body)["id"], "evt_1700000000000-0");
}

TEST(event, leading_whitespace_before_the_brace_is_kept) {
  const std::string payload = " \n\t" + connection_payload();
  const event ev = parse_ok(payload);
  EXPECT_EQ(ev.body, " \n\t{\"id\":\"evt_1700000000000-0\"," + connection_payload().substr(1));
}

TEST(event, other_event_types_need_no_connection_fields) {
  const std::string payload = R"({"event":"invoice.paid","accountid":")" + std::string(account) +
                              R"(","consumerid":")" + std::string(consumer) +
                              R"(","created":0,"data":{"x":[1,2]}})";
  const event ev = parse_ok(payload);
  EXPECT_EQ(ev.type, "invoice.paid");
  EXPECT_EQ(ev.connectionid, "");
  EXPECT_EQ(ev.status, "");
  EXPECT_EQ(ev.created, 0);
}

TEST(event, deleted_connection_event_needs_no_status) {
  const std::string payload = R"({"event":"account.connection.deleted","accountid":")" +
                              std::string(account) + R"(","consumerid":")" + std::string(consumer) +
                              R"(","connectionid":")" + std::string(connection) +
                              R"(","created":5})";
  EXPECT_EQ(parse_ok(payload).status, "");
}

TEST(event, rejects_empty_payload) {
  EXPECT_EQ(parse_error(""), "payload is empty");
}

TEST(event, rejects_oversized_payload_with_both_sizes_in_the_message) {
  const std::string payload = connection_payload(",\"pad\":\"" + std::string(300000, 'x') + "\"");
  EXPECT_EQ(parse_error(payload), "payload is " + std::to_string(payload.size()) +
                                      " bytes, more than the 262144 allowed");
  EXPECT_EQ(parse_error(connection_payload(), 10), "payload is " +
                                                       std::to_string(connection_payload().size()) +
                                                       " bytes, more than the 10 allowed");
}

TEST(event, payload_exactly_at_the_limit_is_accepted) {
  const std::string payload = connection_payload();
  EXPECT_TRUE(std::holds_alternative<event>(parse_event(payload, entry_id, payload.size())));
}

TEST(event, rejects_invalid_json_with_the_reason) {
  const std::string message = parse_error("{\"event\": ");
  EXPECT_TRUE(message.starts_with("payload is not valid JSON: ")) << message;
  EXPECT_NE(message.find("parse error"), std::string::npos) << message;
  EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;
  EXPECT_TRUE(parse_error(connection_payload() + " trailing").starts_with("payload is not valid"));
}

TEST(event, json_error_reason_does_not_quote_the_payload) {
  const std::string message = parse_error("{\"name\":\"" + std::string(1000, 'x') + "\xff\"}");
  EXPECT_LT(message.size(), 200u) << message;
  EXPECT_EQ(message.find('\xff'), std::string::npos);
  EXPECT_NE(message.find("UTF-8"), std::string::npos) << message;
}

TEST(event, rejects_invalid_utf8) {
  EXPECT_TRUE(parse_error(connection_payload(",\"name\":\"\xff\xfe\""))
                  .starts_with("payload is not valid JSON: "));
  EXPECT_TRUE(parse_error(connection_payload(",\"name\":\"\xc3\x28\""))
                  .starts_with("payload is not valid JSON: "));
}

TEST(event, rejects_byte_order_mark) {
  EXPECT_NE(parse_error("\xEF\xBB\xBF" + connection_payload()).find("byte order mark"),
            std::string::npos);
}

TEST(event, rejects_non_object_json) {
  EXPECT_EQ(parse_error("[1,2]"), "payload must be a JSON object, not an array");
  EXPECT_EQ(parse_error("\"x\""), "payload must be a JSON object, not a string");
  EXPECT_EQ(parse_error("42"), "payload must be a JSON object, not a number");
  EXPECT_EQ(parse_error("null"), "payload must be a JSON object, not null");
}

TEST(event, rejects_missing_required_fields_naming_them) {
  EXPECT_EQ(parse_error("{}"), "field 'event' is required");
  EXPECT_EQ(parse_error(R"({"event":"a.b"})"), "field 'accountid' is required");
  EXPECT_EQ(parse_error(R"({"event":"a.b","accountid":")" + std::string(account) + "\"}"),
            "field 'consumerid' is required");
  EXPECT_EQ(parse_error(R"({"event":"a.b","accountid":")" + std::string(account) +
                        R"(","consumerid":")" + std::string(consumer) + "\"}"),
            "field 'created' is required");
}

TEST(event, rejects_bad_event_types) {
  for (const char* type :
       {"account", "Account.created", "account..created", ".account.created", "account.created.",
        "account-connection.created", "account. created", ""}) {
    const std::string payload = R"({"event":")" + std::string(type) + R"(","accountid":")" +
                                std::string(account) + R"(","consumerid":")" +
                                std::string(consumer) + R"(","created":1})";
    EXPECT_TRUE(parse_error(payload).starts_with("field 'event' must be")) << type;
  }
  EXPECT_TRUE(parse_error(R"({"event":5})").starts_with("field 'event' must be"));
}

TEST(event, rejects_non_uuid_ids) {
  const std::string base =
      R"({"event":"a.b","created":1,"accountid":")" + std::string(account) + R"(","consumerid":)";
  EXPECT_EQ(parse_error(base + "\"not-a-uuid\"}"), "field 'consumerid' must be a UUID string");
  EXPECT_EQ(parse_error(base + "42}"), "field 'consumerid' must be a UUID string");
  EXPECT_EQ(parse_error(base + "\"8f14e45f-ceea-4c6e-9a1b-2c3d4e5f6a7\"}"),
            "field 'consumerid' must be a UUID string");
  EXPECT_EQ(parse_error(base + "\"8f14e45f0ceea-4c6e-9a1b-2c3d4e5f6a7b\"}"),
            "field 'consumerid' must be a UUID string");
  EXPECT_EQ(parse_error(base + "\"8f14e45g-ceea-4c6e-9a1b-2c3d4e5f6a7b\"}"),
            "field 'consumerid' must be a UUID string");
}

std::string with_created(std::string_view created) {
  return R"({"event":"a.b","accountid":")" + std::string(account) + R"(","consumerid":")" +
         std::string(consumer) + R"(","created":)" + std::string(created) + "}";
}

TEST(event, created_must_be_an_integer_from_0_to_the_end_of_year_9999) {
  for (const char* created :
       {"-1", "1.5", "1700000000.0", "\"1700000000\"", "null", "true", "18446744073709551615",
        "253402300800", "9223372036854775807", "-9223372036854775808", "9223372036854775808"}) {
    EXPECT_EQ(parse_error(with_created(created)),
              "field 'created' must be an integer from 0 to 253402300799 (unix seconds)")
        << created;
  }
  EXPECT_EQ(parse_ok(with_created("253402300799")).created, 253402300799);
  EXPECT_EQ(parse_ok(with_created("0")).created, 0);
}

// `levels` nested arrays as the value of "data": the payload is `levels` + 1 deep.
std::string nested_data(std::size_t levels) {
  return connection_payload(",\"data\":" + std::string(levels, '[') + std::string(levels, ']'));
}

TEST(event, payload_nested_64_deep_is_accepted_and_65_is_refused) {
  EXPECT_EQ(parse_ok(nested_data(63)).type, "account.connection.created");
  EXPECT_EQ(parse_error(nested_data(64)), "payload is nested deeper than 64 levels");
}

TEST(event, payload_of_120000_nested_arrays_is_refused) {
  const std::string payload = nested_data(120'000);
  ASSERT_LT(payload.size(), max_payload);
  EXPECT_EQ(parse_error(payload), "payload is nested deeper than 64 levels");
}

TEST(event, duplicated_keys_are_refused_at_any_level) {
  EXPECT_EQ(parse_error(connection_payload(R"(,"status":"inactive")")),
            "payload has the key 'status' twice in the same object");
  EXPECT_EQ(parse_error(connection_payload(R"(,"data":{"items":[{"n":1,"n":2}]})")),
            "payload has the key 'n' twice in the object at /data/items/0");
  // Same key in different objects is fine.
  EXPECT_EQ(parse_ok(connection_payload(R"(,"data":{"status":"x","more":{"status":"y"}})")).status,
            "active");
}

// A payload of about 180 KB whose "data" holds `levels` levels of objects and arrays with
// many keys each: the widest and deepest an event gets within the default limit.
std::string large_deep_payload(std::size_t levels, std::string_view innermost = "0") {
  std::string open, close;
  for (std::size_t i = 0; i < levels; ++i) {
    std::string keys;
    for (int k = 0; k < 40; ++k)
      keys += "\"k" + std::to_string(k) + "\":" + std::to_string(k) + ",";
    open += i % 2 == 0 ? "{" + keys + "\"n\":" : "[" + std::string(R"("x",)");
    close += i % 2 == 0 ? "}" : "]";
  }
  std::reverse(close.begin(), close.end());
  const std::string pad = R"(,"pad":")" + std::string(170'000, 'p') + "\"";
  return connection_payload(",\"data\":" + open + std::string(innermost) + close + pad);
}

TEST(event, a_180_kb_event_nested_to_the_limit_is_validated_as_a_whole) {
  const std::string accepted = large_deep_payload(63);
  ASSERT_GT(accepted.size(), 180'000u);
  ASSERT_LT(accepted.size(), max_payload);
  const event ev = parse_ok(accepted);
  EXPECT_EQ(ev.consumerid, consumer);
  EXPECT_EQ(ev.body, R"({"id":"evt_1700000000000-0",)" + accepted.substr(1));
  EXPECT_EQ(parse_error(large_deep_payload(64)), "payload is nested deeper than 64 levels");
  // A key repeated in the innermost object, 64 levels from the top: found, and its place
  // named.
  std::string place = "/data";
  for (int i = 0; i < 31; ++i) place += "/n/1";
  EXPECT_EQ(parse_error(large_deep_payload(62, R"({"k":1,"k":2})")),
            "payload has the key 'k' twice in the object at " + place);
  EXPECT_EQ(parse_ok(large_deep_payload(62, R"({"k":1,"j":2})")).type,
            "account.connection.created");
}

TEST(event, refusals_of_the_json_itself_are_the_documents_parsers_word_for_word) {
  // The validator no longer builds a document; what it refuses, and the reason given (the
  // dead letter's `error`), must stay those of parse_untrusted_json.
  for (const std::string& payload : {
           connection_payload(R"(,"data":{"a":1,"a":2})"),
           connection_payload(R"(,"data":[{"a":1},{"b":[{"c":1,"c":1}]}])"),
           connection_payload(R"(,"accountid":"x")"),
           connection_payload(",\"data\":" + std::string(64, '[') + std::string(64, ']')),
           connection_payload(",\"name\":\"\xc3\x28\""),
           connection_payload() + " trailing",
           connection_payload(",\"x\":01"),
           std::string("{\"event\": "),
           std::string("{\"event\":\"a.b\",\"event\":\"a.b\"}"),
           std::string(R"({"a":{"k":1,"k":2}, oops)"),
       }) {
    const auto expected = parse_untrusted_json(payload);
    ASSERT_TRUE(std::holds_alternative<json_problem>(expected)) << payload;
    EXPECT_EQ(parse_error(payload), "payload " + std::get<json_problem>(expected).message)
        << payload;
  }
}

TEST(event, only_top_level_members_count_as_the_contracts_fields) {
  const std::string nested = R"({"data":{"event":"a.b","accountid":")" + std::string(account) +
                             R"(","consumerid":")" + std::string(consumer) + R"(","created":1}})";
  EXPECT_EQ(parse_error(nested), "field 'event' is required");
  EXPECT_EQ(parse_ok(connection_payload(R"(,"data":{"status":"bad","created":-1,"id":5})")).id,
            "evt_1700000000000-0");
}

TEST(event, fields_of_the_wrong_type_are_refused_by_name) {
  const std::string uuid_fields = R"(,"accountid":")" + std::string(account) +
                                  R"(","consumerid":")" + std::string(consumer) + "\"";
  EXPECT_TRUE(parse_error(R"({"event":["a.b"]})").starts_with("field 'event' must be"));
  EXPECT_TRUE(parse_error(R"({"event":null})").starts_with("field 'event' must be"));
  EXPECT_EQ(parse_error(R"({"event":"a.b","accountid":{"a":1}})"),
            "field 'accountid' must be a UUID string");
  EXPECT_EQ(parse_error(R"({"event":"a.b","accountid":null})"),
            "field 'accountid' must be a UUID string");
  for (const char* created : {"{}", "[1]", "\"1\"", "false", "1e3"}) {
    EXPECT_EQ(parse_error(R"({"event":"a.b")" + uuid_fields + R"(,"created":)" + created + "}"),
              "field 'created' must be an integer from 0 to 253402300799 (unix seconds)")
        << created;
  }
  EXPECT_TRUE(parse_error(connection_payload(R"(,"id":["x"])")).starts_with("field 'id' must be"));
  EXPECT_TRUE(parse_error(connection_payload(R"(,"id":{"a":"b"})")).starts_with("field 'id'"));
  EXPECT_EQ(parse_error(R"({"event":"account.connection.deleted")" + uuid_fields +
                        R"(,"created":1,"connectionid":[]})"),
            "field 'connectionid' must be a UUID string");
  EXPECT_EQ(parse_error(R"({"event":"account.connection.deleted")" + uuid_fields +
                        R"(,"created":1,"connectionid":null})"),
            "field 'connectionid' is required");
  EXPECT_EQ(
      parse_error(R"({"event":"invoice.paid")" + uuid_fields + R"(,"created":1,"connectionid":7})"),
      "field 'connectionid' must be a UUID string");
  EXPECT_EQ(parse_error(R"({"event":"invoice.paid")" + uuid_fields + R"(,"created":1,"status":1})"),
            "field 'status' must be \"active\" or \"inactive\"");
  EXPECT_EQ(parse_ok(R"({"event":"invoice.paid")" + uuid_fields + R"(,"created":1,"status":null})")
                .status,
            "");
}

TEST(event, an_entry_id_that_needs_escaping_is_escaped_in_the_spliced_id) {
  const auto parsed =
      parse_event(R"({"event":"a.b","accountid":")" + std::string(account) + R"(","consumerid":")" +
                      std::string(consumer) + R"(","created":1})",
                  "a\"b\\c\x01", max_payload);
  ASSERT_TRUE(std::holds_alternative<event>(parsed));
  const event& ev = std::get<event>(parsed);
  EXPECT_EQ(ev.id, "evt_a\"b\\c\x01");
  EXPECT_TRUE(ev.body.starts_with(R"({"id":"evt_a\"b\\c\u0001",)")) << ev.body;
  EXPECT_EQ(nlohmann::json::parse(ev.body)["id"], ev.id);
}

TEST(event, rejects_malformed_producer_ids) {
  for (const char* id : {"\"\"", "\"has space\"", "\"slash/no\"", "5", "null",
                         "\"01234567890123456789012345678901234567890123456789012345678901234567"
                         "890123456789012345678901234567890123456789012345678901234567890\""}) {
    EXPECT_TRUE(parse_error(connection_payload(std::string(",\"id\":") + id))
                    .starts_with("field 'id' must be"))
        << id;
  }
  const std::string longest(128, 'a');
  EXPECT_EQ(parse_ok(connection_payload(",\"id\":\"" + longest + "\"")).id, longest);
}

TEST(event, connection_events_require_a_connectionid_uuid) {
  const std::string no_connection = R"({"event":"account.connection.updated","accountid":")" +
                                    std::string(account) + R"(","consumerid":")" +
                                    std::string(consumer) + R"(","status":"inactive","created":5})";
  EXPECT_EQ(parse_error(no_connection), "field 'connectionid' is required");
  const std::string bad_connection =
      R"({"event":"account.connection.deleted","accountid":")" + std::string(account) +
      R"(","consumerid":")" + std::string(consumer) + R"(","connectionid":"nope","created":5})";
  EXPECT_EQ(parse_error(bad_connection), "field 'connectionid' must be a UUID string");
}

TEST(event, created_and_updated_connection_events_require_a_status) {
  for (const char* type : {"account.connection.created", "account.connection.updated"}) {
    const std::string payload = R"({"event":")" + std::string(type) + R"(","accountid":")" +
                                std::string(account) + R"(","consumerid":")" +
                                std::string(consumer) + R"(","connectionid":")" +
                                std::string(connection) + R"(","created":5})";
    EXPECT_EQ(parse_error(payload), "field 'status' is required") << type;
  }
}

TEST(event, status_must_be_active_or_inactive_wherever_it_appears) {
  EXPECT_EQ(parse_error(R"({"event":"invoice.paid","accountid":")" + std::string(account) +
                        R"(","consumerid":")" + std::string(consumer) +
                        R"(","created":1,"status":"paid"})"),
            "field 'status' must be \"active\" or \"inactive\"");
  const std::string payload = R"({"event":"account.connection.updated","accountid":")" +
                              std::string(account) + R"(","consumerid":")" + std::string(consumer) +
                              R"(","connectionid":")" + std::string(connection) +
                              R"(","status":"Active","created":5})";
  EXPECT_EQ(parse_error(payload), "field 'status' must be \"active\" or \"inactive\"");
  const std::string inactive = R"({"event":"account.connection.updated","accountid":")" +
                               std::string(account) + R"(","consumerid":")" +
                               std::string(consumer) + R"(","connectionid":")" +
                               std::string(connection) + R"(","status":"inactive","created":5})";
  EXPECT_EQ(parse_ok(inactive).status, "inactive");
}

TEST(event, a_validation_error_names_its_field) {
  const auto field_of = [](std::string_view payload) {
    auto result = parse_event(payload, entry_id, max_payload);
    return std::holds_alternative<validation_error>(result)
               ? std::get<validation_error>(result).field
               : std::string("accepted");
  };
  EXPECT_EQ(field_of(R"({"event":"account.connection.created"})"), "accountid");
  EXPECT_EQ(field_of(connection_payload(R"(,"id":7)")), "id");
  EXPECT_EQ(field_of(R"({"event":"Bad"})"), "event");
  EXPECT_EQ(field_of("{\"event\":\"a.b\",\"accountid\":\"" + std::string(account) +
                     "\",\"consumerid\":\"nope\",\"created\":1}"),
            "consumerid");
  EXPECT_EQ(field_of("{\"event\":\"a.b\",\"accountid\":\"" + std::string(account) +
                     "\",\"consumerid\":\"" + std::string(consumer) + "\",\"created\":-1}"),
            "created");
  // The payload as a whole: no field.
  EXPECT_EQ(field_of("not json"), "");
  EXPECT_EQ(field_of("[]"), "");
}

TEST(event, an_api_entry_id_gives_an_event_id_of_the_contracts_grammar) {
  const std::string a = api_entry_id();
  EXPECT_EQ(a.size(), 24u);
  EXPECT_TRUE(a.starts_with("api_"));
  EXPECT_NE(a, api_entry_id());
  const auto parsed = parse_event(connection_payload(), a, max_payload);
  ASSERT_TRUE(std::holds_alternative<event>(parsed));
  EXPECT_EQ(std::get<event>(parsed).id, "evt_" + a);
  EXPECT_TRUE(is_event_id(std::get<event>(parsed).id));
}

}  // namespace
}  // namespace dispatcher::ingest
