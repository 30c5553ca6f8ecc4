// Endpoint validation (CONTRACT section 4), its API and storage forms, filters and secrets.
#include "dispatcher/routing/endpoint.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <limits>
#include <set>

#include "dispatcher/signing/secret_box.hpp"
#include "dispatcher/signing/signature.hpp"

namespace dispatcher::routing {
namespace {

using json = nlohmann::json;

constexpr std::int64_t now = 1'700'000'000'000;
constexpr validation_options strict{};
constexpr validation_options permissive{.allow_private_targets = true};
constexpr std::string_view consumer = "8f14e45f-ceea-4c6e-9a1b-2c3d4e5f6a7b";

endpoint create_ok(const json& body, const validation_options& options = strict) {
  auto result = endpoint_from_create(body, options, now);
  if (auto* e = std::get_if<field_error>(&result)) {
    ADD_FAILURE() << body.dump() << ": " << e->field << ": " << e->message;
    return {};
  }
  return std::get<endpoint>(result);
}

field_error create_error(const json& body, const validation_options& options = strict) {
  auto result = endpoint_from_create(body, options, now);
  if (std::holds_alternative<endpoint>(result)) {
    ADD_FAILURE() << body.dump() << " was accepted";
    return {};
  }
  return std::get<field_error>(result);
}

// A create body with one field set (besides a valid url).
json with(const char* field, json value) {
  json body = {{"url", "https://hooks.example.com/in"}};
  body[field] = std::move(value);
  return body;
}

std::string secret_of(std::size_t bytes) {
  return "whsec_" + signing::base64_encode(std::string(bytes, 'k'));
}

TEST(endpoint_create, minimal_body_gets_defaults_id_secret_and_times) {
  const endpoint ep = create_ok({{"url", "https://hooks.example.com/in"}});
  EXPECT_EQ(ep.url, "https://hooks.example.com/in");
  EXPECT_EQ(ep.signature, signature_scheme::both);
  EXPECT_TRUE(ep.enabled);
  EXPECT_TRUE(ep.events.empty());
  EXPECT_TRUE(ep.consumers.empty());
  EXPECT_FALSE(ep.rate_limit);
  EXPECT_TRUE(ep.headers.empty());
  EXPECT_TRUE(ep.id.starts_with("ep_"));
  ASSERT_TRUE(signing::decode_secret(ep.secret));
  EXPECT_EQ(signing::decode_secret(ep.secret)->size(), 32u);
  EXPECT_EQ(ep.created_at_ms, now);
  EXPECT_EQ(ep.updated_at_ms, now);
}

TEST(endpoint_create, full_body_is_taken_as_given) {
  const std::string secret = secret_of(24);
  const endpoint ep = create_ok({{"url", "http://hooks.example.com:8080/x?y=1"},
                                 {"description", "billing hooks"},
                                 {"events", {"account.connection.created", "account.*"}},
                                 {"consumers", {consumer}},
                                 {"signature", "chift"},
                                 {"secret", secret},
                                 {"enabled", false},
                                 {"rate_limit", 2.5},
                                 {"headers", {{"Authorization", "Bearer abc"}}}});
  EXPECT_EQ(ep.description, "billing hooks");
  EXPECT_EQ(ep.events, (std::vector<std::string>{"account.connection.created", "account.*"}));
  EXPECT_EQ(ep.consumers, std::vector<std::string>{std::string(consumer)});
  EXPECT_EQ(ep.signature, signature_scheme::chift);
  EXPECT_EQ(ep.secret, secret);
  EXPECT_FALSE(ep.enabled);
  EXPECT_EQ(ep.rate_limit, 2.5);
  ASSERT_EQ(ep.headers.size(), 1u);
  EXPECT_EQ(ep.headers[0], (std::pair<std::string, std::string>{"Authorization", "Bearer abc"}));
}

TEST(endpoint_create, url_is_required) {
  const field_error e = create_error({{"description", "x"}});
  EXPECT_EQ(e.field, "url");
  EXPECT_EQ(e.message, "url is required");
}

TEST(endpoint_create, rejects_bad_urls_with_the_parser_sentence) {
  const field_error e = create_error({{"url", "ftp://example.com/"}});
  EXPECT_EQ(e.field, "url");
  EXPECT_EQ(e.message, "url must use http or https");
  EXPECT_EQ(create_error({{"url", "https://u:p@example.com/"}}).field, "url");
  EXPECT_EQ(create_error({{"url", "https://example.com/" + std::string(3000, 'a')}}).field, "url");
}

TEST(endpoint_create, private_literal_url_is_refused_unless_allowed) {
  const field_error e = create_error({{"url", "http://10.0.0.1/hook"}});
  EXPECT_EQ(e.field, "url");
  EXPECT_EQ(e.message,
            "url host 10.0.0.1 is a private address; set DISPATCHER_ALLOW_PRIVATE_TARGETS=true to "
            "allow it");
  EXPECT_EQ(create_error({{"url", "http://[::1]:8080/"}}).field, "url");
  EXPECT_EQ(create_error({{"url", "http://169.254.169.254/latest"}}).field, "url");
  EXPECT_EQ(create_ok({{"url", "http://10.0.0.1/hook"}}, permissive).url, "http://10.0.0.1/hook");
  EXPECT_EQ(create_ok({{"url", "http://[::1]:8080/"}}, permissive).url, "http://[::1]:8080/");
}

TEST(endpoint_create, public_literal_and_dns_names_are_allowed) {
  create_ok({{"url", "https://8.8.8.8/"}});
  // Names are checked after resolution, at connect time.
  create_ok({{"url", "http://localhost:9000/"}});
}

TEST(endpoint_create, unknown_fields_are_named) {
  const field_error e = create_error(with("evnets", json::array()));
  EXPECT_EQ(e.field, "evnets");
  EXPECT_NE(e.message.find("evnets"), std::string::npos);
}

TEST(endpoint_create, server_assigned_fields_cannot_be_set) {
  for (const char* field : {"id", "created_at", "updated_at", "disabled_reason"}) {
    EXPECT_EQ(create_error(with(field, "x")).field, field);
  }
}

TEST(endpoint_create, body_must_be_an_object) {
  EXPECT_EQ(create_error(json::array({1})).field, "body");
  EXPECT_EQ(create_error(json("x")).field, "body");
}

TEST(endpoint_create, wrong_json_types_name_the_field_and_the_expected_type) {
  struct row {
    const char* field;
    json value;
    const char* message;
  };
  for (const row& r : {
           row{"url", 5, "url must be a string"},
           row{"description", json::array(), "description must be a string"},
           row{"events", "account.*", "events must be an array of strings"},
           row{"consumers", json::object(), "consumers must be an array of strings"},
           row{"enabled", "true", "enabled must be a boolean"},
           row{"rate_limit", "5", "rate_limit must be a number or null"},
           row{"headers", json::array(), "headers must be an object of string values"},
       }) {
    json body = with(r.field, r.value);
    const field_error e = create_error(body);
    EXPECT_EQ(e.field, r.field);
    EXPECT_EQ(e.message, r.message);
  }
}

TEST(endpoint_create, description_is_limited_to_1024_characters) {
  create_ok(with("description", std::string(1024, 'd')));
  // 1024 two-byte characters are still 1024 characters.
  std::string accented;
  for (int i = 0; i < 1024; ++i) accented += "\xc3\xa9";
  create_ok(with("description", accented));
  EXPECT_EQ(create_error(with("description", std::string(1025, 'd'))).field, "description");
}

TEST(endpoint_create, event_filters_are_types_or_prefixes) {
  create_ok(with("events", {"account.connection.created", "account.connection.*", "account.*",
                            "invoice.paid"}));
  for (const char* bad : {"*", "account", ".*", "Account.*", "account.*.created", "account..*",
                          "account.", "account.connection.**", ""}) {
    const field_error e = create_error(with("events", {"account.*", bad}));
    EXPECT_EQ(e.field, "events[1]") << bad;
    EXPECT_TRUE(e.message.starts_with("events[1] must be")) << bad;
  }
  EXPECT_EQ(create_error(with("events", {"a.b", 5})).field, "events[1]");
}

TEST(endpoint_create, duplicate_event_filters_are_stored_once) {
  EXPECT_EQ(create_ok(with("events", {"a.b", "a.*", "a.b"})).events,
            (std::vector<std::string>{"a.b", "a.*"}));
}

TEST(endpoint_create, consumers_must_be_uuids) {
  const field_error e = create_error(with("consumers", {consumer, "bob"}));
  EXPECT_EQ(e.field, "consumers[1]");
  EXPECT_EQ(e.message, "consumers[1] must be a UUID string");
}

TEST(endpoint_create, signature_must_be_a_known_scheme) {
  EXPECT_EQ(create_ok(with("signature", "standard")).signature, signature_scheme::standard);
  EXPECT_EQ(create_ok(with("signature", "both")).signature, signature_scheme::both);
  EXPECT_EQ(create_error(with("signature", "hmac")).field, "signature");
  EXPECT_EQ(create_error(with("signature", "Standard")).field, "signature");
  EXPECT_EQ(create_error(with("signature", 1)).field, "signature");
}

TEST(endpoint_create, ordering_is_none_or_connection) {
  EXPECT_EQ(create_ok({{"url", "https://hooks.example.com/in"}}).ordering, ordering_mode::none);
  EXPECT_EQ(create_ok(with("ordering", "connection")).ordering, ordering_mode::connection);
  EXPECT_EQ(create_ok(with("ordering", "none")).ordering, ordering_mode::none);
  for (const json& bad : {json("Connection"), json("consumer"), json(true), json(nullptr)}) {
    const auto e = create_error(with("ordering", bad));
    EXPECT_EQ(e.field, "ordering") << bad.dump();
    EXPECT_EQ(e.message, "ordering must be \"none\" or \"connection\"");
  }
  EXPECT_EQ(create_error(with("circuit", "open")).field, "circuit");
}

TEST(endpoint_json, shows_ordering_and_circuit_and_stores_ordering) {
  auto ep = create_ok(with("ordering", "connection"));
  const auto api = to_api_json(ep, false);
  EXPECT_EQ(api["ordering"], "connection");
  EXPECT_EQ(api["circuit"], "closed");
  ep.circuit = circuit_state::half_open;
  EXPECT_EQ(to_api_json(ep, false)["circuit"], "half_open");
  const auto stored = from_storage(to_storage(ep));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->ordering, ordering_mode::connection);
  EXPECT_EQ(stored->circuit, circuit_state::closed) << "the circuit lives in the hash, not json";
  // A change applies on PATCH.
  ASSERT_FALSE(apply_patch(ep, {{"ordering", "none"}}, strict, now + 1));
  EXPECT_EQ(ep.ordering, ordering_mode::none);
  EXPECT_EQ(apply_patch(ep, {{"ordering", "stream"}}, strict, now + 2)->field, "ordering");
}

TEST(endpoint_create, secret_must_be_whsec_base64_of_24_to_64_bytes) {
  create_ok(with("secret", secret_of(24)));
  create_ok(with("secret", secret_of(64)));
  create_ok(with("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  for (const std::string& bad :
       {secret_of(23), secret_of(65), signing::base64_encode(std::string(32, 'k')),
        std::string("whsec_not*base64*at*all*but*long*enough*"), std::string("whsec_")}) {
    EXPECT_EQ(create_error(with("secret", bad)).field, "secret") << bad;
  }
  EXPECT_EQ(create_error(with("secret", 42)).field, "secret");
}

TEST(endpoint_create, rate_limit_is_any_finite_number_above_zero) {
  EXPECT_EQ(create_ok(with("rate_limit", 10000)).rate_limit, 10000.0);
  EXPECT_EQ(create_ok(with("rate_limit", 0.5)).rate_limit, 0.5);
  // CONTRACT section 4: any number above 0. Extremes are stored as given; the claim script
  // caps the interval they imply (tests/integration/endpoint_limits_test.cpp).
  EXPECT_EQ(create_ok(with("rate_limit", 10000.5)).rate_limit, 10000.5);
  EXPECT_EQ(create_ok(with("rate_limit", 1e300)).rate_limit, 1e300);
  EXPECT_EQ(create_ok(with("rate_limit", 5e-324)).rate_limit, 5e-324);
  EXPECT_FALSE(create_ok(with("rate_limit", nullptr)).rate_limit);
  for (const json& bad : {json(0), json(-1), json(-0.0), json(-1e-300), json("1"), json(true)}) {
    EXPECT_EQ(create_error(with("rate_limit", bad)).field, "rate_limit") << bad.dump();
  }
  // Not representable in JSON, but a caller building the body in code could pass them.
  for (const double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(create_error(with("rate_limit", bad)).field, "rate_limit") << bad;
  }
}

TEST(endpoint_create, events_are_limited_to_100_filters) {
  json filters = json::array();
  for (int i = 0; i < 100; ++i) filters.push_back("a.t" + std::to_string(i));
  EXPECT_EQ(create_ok(with("events", filters)).events.size(), 100u);
  filters.push_back("a.t100");
  const field_error e = create_error(with("events", filters));
  EXPECT_EQ(e.field, "events");
  EXPECT_NE(e.message.find("at most 100"), std::string::npos) << e.message;
}

TEST(endpoint_create, eighty_thousand_filters_are_refused_naming_the_field) {
  // Once took 13 s of pairwise dedupe on the shared thread; now the count is checked first.
  json filters = json::array();
  for (int i = 0; i < 80'000; ++i) filters.push_back("a.t" + std::to_string(i));
  const field_error e = create_error(with("events", filters));
  EXPECT_EQ(e.field, "events");
  EXPECT_NE(e.message.find("80000 were given"), std::string::npos) << e.message;
}

TEST(endpoint_create, consumers_are_limited_to_1000) {
  auto uuid = [](int i) {
    char text[37];
    std::snprintf(text, sizeof text, "8f14e45f-ceea-4c6e-9a1b-%012d", i);
    return std::string(text);
  };
  json consumers = json::array();
  for (int i = 0; i < 999; ++i) consumers.push_back(uuid(i));
  consumers.push_back(uuid(0));  // the limit counts what was given; a duplicate is kept once
  EXPECT_EQ(create_ok(with("consumers", consumers)).consumers.size(), 999u);
  consumers.push_back(uuid(1000));
  EXPECT_EQ(create_error(with("consumers", consumers)).field, "consumers");
}

TEST(endpoint_create, headers_are_limited_to_20) {
  json headers = json::object();
  for (int i = 0; i < 20; ++i) headers["X-H" + std::to_string(i)] = "v";
  EXPECT_EQ(create_ok(with("headers", headers)).headers.size(), 20u);
  headers["X-H20"] = "v";
  const field_error e = create_error(with("headers", headers));
  EXPECT_EQ(e.field, "headers");
  EXPECT_NE(e.message.find("at most 20"), std::string::npos) << e.message;
}

TEST(endpoint_create, sixty_thousand_headers_are_refused_naming_the_field) {
  // Once took 50 s of pairwise case-insensitive comparisons.
  json headers = json::object();
  for (int i = 0; i < 60'000; ++i) headers["X-H" + std::to_string(i)] = "v";
  EXPECT_EQ(create_error(with("headers", headers)).field, "headers");
}

TEST(endpoint_create, url_is_limited_to_2048_bytes) {
  const std::string base = "https://hooks.example.com/";
  EXPECT_EQ(create_ok(with("url", base + std::string(2048 - base.size(), 'a'))).url.size(), 2048u);
  const field_error e = create_error(with("url", base + std::string(2049 - base.size(), 'a')));
  EXPECT_EQ(e.field, "url");
  EXPECT_NE(e.message.find("2048"), std::string::npos);
}

TEST(endpoint_create, limits_apply_to_patches_too) {
  endpoint ep = create_ok(with("description", "x"));
  json headers = json::object();
  for (int i = 0; i < 21; ++i) headers["X-H" + std::to_string(i)] = "v";
  const auto e = apply_patch(ep, {{"headers", headers}}, strict, now + 1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "headers");
  EXPECT_TRUE(ep.headers.empty());
}

TEST(endpoint_create, headers_must_be_tokens_with_string_values) {
  const endpoint ep = create_ok(with("headers", {{"X-Team", "billing"}, {"Authorization", "k"}}));
  EXPECT_EQ(ep.headers.size(), 2u);
  EXPECT_EQ(create_error(with("headers", {{"Bad Name", "x"}})).field, "headers.Bad Name");
  EXPECT_EQ(create_error(with("headers", {{"", "x"}})).field, "headers.");
  EXPECT_EQ(create_error(with("headers", {{"X-Num", 5}})).field, "headers.X-Num");
}

TEST(endpoint_create, header_values_cannot_inject_lines) {
  for (const char* value : {"a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x7f"}) {
    EXPECT_EQ(create_error(with("headers", {{"X-A", value}})).field, "headers.X-A") << value;
  }
  EXPECT_EQ(create_error(with("headers", {{"X-A", std::string("a\0b", 3)}})).field, "headers.X-A");
}

TEST(endpoint_create, reserved_headers_are_refused_in_any_case) {
  for (const char* name :
       {"content-type", "Content-Type", "User-Agent", "host", "CONTENT-LENGTH", "webhook-id",
        "Webhook-Signature", "webhook-timestamp", "Webhook-Anything", "x-chift-signature",
        "Connection", "transfer-encoding"}) {
    const field_error e = create_error(with("headers", {{name, "x"}}));
    EXPECT_EQ(e.field, std::string("headers.") + name);
    EXPECT_NE(e.message.find("cannot be overridden"), std::string::npos) << name;
  }
}

TEST(endpoint_create, header_names_differing_only_in_case_are_refused) {
  EXPECT_EQ(create_error(with("headers", {{"X-Key", "a"}, {"x-key", "b"}})).field.substr(0, 8),
            "headers.");
}

TEST(endpoint_patch, changes_only_given_fields_and_bumps_updated_at) {
  endpoint ep = create_ok({{"url", "https://a.example.com/"}, {"description", "old"}});
  const std::string secret = ep.secret;
  EXPECT_FALSE(apply_patch(ep, {{"description", "new"}, {"events", {"a.*"}}}, strict, now + 5));
  EXPECT_EQ(ep.description, "new");
  EXPECT_EQ(ep.events, std::vector<std::string>{"a.*"});
  EXPECT_EQ(ep.url, "https://a.example.com/");
  EXPECT_EQ(ep.secret, secret);
  EXPECT_EQ(ep.created_at_ms, now);
  EXPECT_EQ(ep.updated_at_ms, now + 5);
}

TEST(endpoint_patch, rejected_patch_leaves_the_endpoint_untouched) {
  endpoint ep = create_ok({{"url", "https://a.example.com/"}, {"description", "old"}});
  const auto e = apply_patch(ep, {{"description", "new"}, {"enabled", "yes"}}, strict, now + 5);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "enabled");
  EXPECT_EQ(ep.description, "old");
  EXPECT_EQ(ep.updated_at_ms, now);
}

TEST(endpoint_patch, secret_cannot_be_patched) {
  endpoint ep = create_ok({{"url", "https://a.example.com/"}});
  const auto e = apply_patch(ep, {{"secret", secret_of(32)}}, strict, now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "secret");
  EXPECT_NE(e->message.find("rotate"), std::string::npos);
}

TEST(endpoint_patch, url_is_revalidated_including_the_private_check) {
  endpoint ep = create_ok({{"url", "https://a.example.com/"}});
  const auto e = apply_patch(ep, {{"url", "http://192.168.1.1/"}}, strict, now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->field, "url");
  EXPECT_FALSE(apply_patch(ep, {{"url", "http://192.168.1.1/"}}, permissive, now));
  EXPECT_EQ(ep.url, "http://192.168.1.1/");
}

TEST(endpoint_patch, enabling_clears_the_disabled_reason) {
  endpoint ep = create_ok({{"url", "https://a.example.com/"}});
  ep.enabled = false;
  ep.disabled_reason = "the endpoint answered 410 Gone";
  EXPECT_FALSE(apply_patch(ep, {{"enabled", true}}, strict, now));
  EXPECT_TRUE(ep.enabled);
  EXPECT_EQ(ep.disabled_reason, "");
}

TEST(endpoint_patch, null_rate_limit_removes_it) {
  endpoint ep = create_ok(with("rate_limit", 5));
  EXPECT_FALSE(apply_patch(ep, {{"rate_limit", nullptr}}, strict, now));
  EXPECT_FALSE(ep.rate_limit);
}

endpoint sample() {
  endpoint ep;
  ep.id = "ep_abc";
  ep.url = "https://hooks.example.com/in";
  ep.description = "d";
  ep.events = {"account.*"};
  ep.consumers = {std::string(consumer)};
  ep.signature = signature_scheme::standard;
  ep.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  ep.retired_secrets = {{secret_of(32), now + 1000}};
  ep.enabled = false;
  ep.disabled_reason = "the endpoint answered 410 Gone";
  ep.rate_limit = 2.5;
  ep.headers = {{"X-B", "2"}, {"X-A", "1"}};
  ep.created_at_ms = 1'700'000'000'123;
  ep.updated_at_ms = 1'700'000'001'000;
  return ep;
}

TEST(endpoint_api_json, has_every_field_and_rfc3339_times) {
  const json j = to_api_json(sample(), false);
  EXPECT_EQ(j["id"], "ep_abc");
  EXPECT_EQ(j["url"], "https://hooks.example.com/in");
  EXPECT_EQ(j["description"], "d");
  EXPECT_EQ(j["events"], json({"account.*"}));
  EXPECT_EQ(j["consumers"], json({consumer}));
  EXPECT_EQ(j["signature"], "standard");
  EXPECT_EQ(j["enabled"], false);
  EXPECT_EQ(j["disabled_reason"], "the endpoint answered 410 Gone");
  EXPECT_EQ(j["rate_limit"], 2.5);
  EXPECT_EQ(j["headers"], json({{"X-A", "1"}, {"X-B", "2"}}));
  EXPECT_EQ(j["created_at"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["updated_at"], "2023-11-14T22:13:21Z");
  EXPECT_FALSE(j.contains("secret"));
  EXPECT_FALSE(j.contains("retired_secrets"));
}

TEST(endpoint_api_json, secret_only_when_asked) {
  EXPECT_EQ(to_api_json(sample(), true)["secret"], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
}

TEST(endpoint_api_json, empty_reason_and_unset_rate_limit_are_null) {
  endpoint ep = sample();
  ep.disabled_reason.clear();
  ep.rate_limit.reset();
  ep.headers.clear();
  const json j = to_api_json(ep, false);
  EXPECT_TRUE(j["disabled_reason"].is_null());
  EXPECT_TRUE(j["rate_limit"].is_null());
  EXPECT_TRUE(j["headers"].is_object());
  EXPECT_TRUE(j["headers"].empty());
}

TEST(endpoint_api_json, whole_rate_limit_prints_as_an_integer) {
  endpoint ep = sample();
  ep.rate_limit = 5;
  EXPECT_EQ(to_api_json(ep, false)["rate_limit"].dump(), "5");
}

TEST(endpoint_api_json, sensitive_header_values_are_redacted) {
  endpoint ep = sample();
  ep.headers = {{"Authorization", "Bearer abc"},
                {"X-Api-Key", "k1"},
                {"Cookie", "c=1"},
                {"X-Auth-TOKEN", "t"},
                {"X-Webhook-Secret", "s"},
                {"X-Team", "billing"},
                {"KEY", "k2"}};
  const json j = to_api_json(ep, true);
  for (const char* name :
       {"Authorization", "X-Api-Key", "Cookie", "X-Auth-TOKEN", "X-Webhook-Secret", "KEY"}) {
    EXPECT_EQ(j["headers"][name], "***") << name;
  }
  EXPECT_EQ(j["headers"]["X-Team"], "billing");
  // Only the API form is masked: storage (and so the webhook request) keeps the value.
  const auto stored = from_storage(to_storage(ep));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->headers, ep.headers);
}

TEST(endpoint_api_json, header_sensitivity_is_by_substring_ignoring_case) {
  for (const char* name : {"authorization", "Proxy-Authorization", "Set-Cookie", "X-Token-Id",
                           "Client-Secret", "x-api-key", "Monkey"}) {
    EXPECT_TRUE(is_sensitive_header(name)) << name;
  }
  for (const char* name : {"X-Team", "Accept", "X-Tok", "X-Kee"}) {
    EXPECT_FALSE(is_sensitive_header(name)) << name;
  }
}

TEST(endpoint_patch, masked_sensitive_header_keeps_its_value) {
  endpoint ep =
      create_ok(with("headers", {{"Authorization", "Bearer real"}, {"X-Team", "billing"}}));
  // What a client gets from GET and sends back unchanged.
  const json shown = to_api_json(ep, false)["headers"];
  ASSERT_FALSE(apply_patch(ep, {{"headers", shown}}, strict, now + 1));
  EXPECT_EQ(ep.headers, (std::vector<std::pair<std::string, std::string>>{
                            {"Authorization", "Bearer real"}, {"X-Team", "billing"}}));
  // A new value replaces it; "***" for a header it did not have is taken literally.
  ASSERT_FALSE(apply_patch(ep, {{"headers", {{"authorization", "Bearer new"}, {"X-Key", "***"}}}},
                           strict, now + 2));
  EXPECT_EQ(ep.headers, (std::vector<std::pair<std::string, std::string>>{
                            {"X-Key", "***"}, {"authorization", "Bearer new"}}));
}

TEST(endpoint_storage, round_trips_every_field) {
  const endpoint in = sample();
  const auto out = from_storage(to_storage(in));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->id, in.id);
  EXPECT_EQ(out->url, in.url);
  EXPECT_EQ(out->description, in.description);
  EXPECT_EQ(out->events, in.events);
  EXPECT_EQ(out->consumers, in.consumers);
  EXPECT_EQ(out->signature, in.signature);
  EXPECT_EQ(out->secret, in.secret);
  ASSERT_EQ(out->retired_secrets.size(), 1u);
  EXPECT_EQ(out->retired_secrets[0].secret, in.retired_secrets[0].secret);
  EXPECT_EQ(out->retired_secrets[0].expires_at_ms, in.retired_secrets[0].expires_at_ms);
  EXPECT_EQ(out->enabled, in.enabled);
  EXPECT_EQ(out->disabled_reason, in.disabled_reason);
  EXPECT_EQ(out->rate_limit, in.rate_limit);
  EXPECT_EQ(out->headers, in.headers);  // order kept
  EXPECT_EQ(out->created_at_ms, in.created_at_ms);
  EXPECT_EQ(out->updated_at_ms, in.updated_at_ms);
}

TEST(endpoint_storage, keeps_the_secret_and_times_in_ms) {
  const json j = json::parse(to_storage(sample()));
  EXPECT_EQ(j["secret"], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(j["created_at_ms"], 1'700'000'000'123);
}

TEST(endpoint_storage, missing_optional_members_take_defaults) {
  const auto ep =
      from_storage(R"({"id":"ep_1","url":"https://a.example.com/","secret":"whsec_x"})");
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->enabled);
  EXPECT_EQ(ep->signature, signature_scheme::both);
  EXPECT_FALSE(ep->rate_limit);
}

TEST(endpoint_storage, refuses_damaged_records_without_throwing) {
  for (const char* stored :
       {"", "not json", "[]", R"({"url":"https://a/","secret":"s"})",
        R"({"id":"ep_1","url":"https://a/","secret":"s","enabled":"yes"})",
        R"({"id":"ep_1","url":"https://a/","secret":"s","events":"a.*"})",
        R"({"id":"ep_1","url":"https://a/","secret":"s","signature":"rsa"})",
        R"({"id":"ep_1","url":"https://a/","secret":"s","headers":{"a":"b"}})",
        R"({"id":"ep_1","url":"https://a/","secret":"s","retired_secrets":[{"secret":1}]})",
        R"({"id":"ep_1","url":"https://a/","secret":"s","created_at_ms":"x"})"}) {
    EXPECT_FALSE(from_storage(stored)) << stored;
  }
}

signing::secret_box key_of(char fill) {
  std::array<unsigned char, 32> bytes{};
  bytes.fill(static_cast<unsigned char>(fill));
  return signing::secret_box(bytes);
}

TEST(endpoint_sealed_storage, no_secret_is_stored_in_clear_with_a_key) {
  const auto key = key_of('k');
  const endpoint in = sample();
  const std::string stored = to_storage(in, &key);
  EXPECT_EQ(stored.find("whsec_"), std::string::npos) << stored;
  EXPECT_EQ(stored.find(in.secret.substr(6)), std::string::npos);
  const json j = json::parse(stored);
  EXPECT_TRUE(j["secret"].get<std::string>().starts_with("enc:v1:"));
  EXPECT_TRUE(j["retired_secrets"][0]["secret"].get<std::string>().starts_with("enc:v1:"));

  const auto out = from_storage(stored, &key);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->secret, in.secret);
  EXPECT_EQ(out->retired_secrets[0].secret, in.retired_secrets[0].secret);
  EXPECT_TRUE(out->secret_error.empty());
}

TEST(endpoint_sealed_storage, without_a_key_secrets_are_stored_as_they_are) {
  const json j = json::parse(to_storage(sample(), nullptr));
  EXPECT_EQ(j["secret"], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
}

TEST(endpoint_sealed_storage, plaintext_records_load_with_a_key_and_are_sealed_when_written) {
  const auto key = key_of('k');
  const std::string legacy = to_storage(sample(), nullptr);
  auto ep = from_storage(legacy, &key);
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->secret_error.empty());
  EXPECT_EQ(ep->secret, sample().secret);
  EXPECT_EQ(to_storage(*ep, &key).find("whsec_"), std::string::npos);
}

TEST(endpoint_sealed_storage, no_key_or_another_key_marks_the_endpoint_and_keeps_its_values) {
  const auto key = key_of('k');
  const auto other = key_of('o');
  const std::string stored = to_storage(sample(), &key);
  const json sealed = json::parse(stored);

  const auto without = from_storage(stored, nullptr);
  ASSERT_TRUE(without);  // still shown, changed or deleted through the API
  EXPECT_NE(without->secret_error.find("DISPATCHER_ENCRYPTION_KEY is not set"), std::string::npos)
      << without->secret_error;
  const auto wrong = from_storage(stored, &other);
  ASSERT_TRUE(wrong);
  EXPECT_NE(wrong->secret_error.find("cannot be decrypted"), std::string::npos);

  // Written back (a PATCH on that instance), the sealed values are kept byte for byte, so
  // an instance with the right key still opens them.
  for (const auto* ep : {&*without, &*wrong}) {
    const json again = json::parse(to_storage(*ep, ep == &*wrong ? &other : nullptr));
    EXPECT_EQ(again["secret"], sealed["secret"]);
    EXPECT_EQ(again["retired_secrets"], sealed["retired_secrets"]);
    const auto reopened = from_storage(again.dump(), &key);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->secret, sample().secret);
  }

  // The API says so, and never shows the sealed text as if it were the secret.
  const json api = to_api_json(*wrong, true);
  EXPECT_FALSE(api.contains("secret"));
  EXPECT_NE(api["secret_error"].get<std::string>().find("no deliveries"), std::string::npos);
}

TEST(endpoint_sealed_storage, a_sealed_secret_does_not_open_on_another_endpoint) {
  const auto key = key_of('k');
  json stored = json::parse(to_storage(sample(), &key));
  stored["id"] = "ep_other";
  const auto ep = from_storage(stored.dump(), &key);
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->secret_error.empty());
}

TEST(endpoint_sealed_storage, a_tampered_value_marks_the_endpoint) {
  const auto key = key_of('k');
  json stored = json::parse(to_storage(sample(), &key));
  std::string secret = stored["secret"];
  secret[secret.size() - 5] = secret[secret.size() - 5] == 'A' ? 'B' : 'A';
  stored["secret"] = secret;
  const auto ep = from_storage(stored.dump(), &key);
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->secret_error.empty());
}

TEST(endpoint_sealed_storage, rotation_recovers_an_endpoint_whose_secret_cannot_be_opened) {
  const auto key = key_of('k');
  auto ep = from_storage(to_storage(sample(), &key), nullptr);
  ASSERT_TRUE(ep && !ep->secret_error.empty());
  rotate_secret(*ep, now, 3'600'000);
  EXPECT_TRUE(ep->secret_error.empty());
  EXPECT_TRUE(ep->secret.starts_with("whsec_"));
  // Neither the unopened current secret nor the unopened retired one can sign in a grace.
  EXPECT_TRUE(ep->retired_secrets.empty());
  EXPECT_EQ(signing_secrets(*ep, now), std::vector<std::string_view>{ep->secret});
}

TEST(endpoint_secrets, rotation_retires_the_current_secret_for_the_grace_period) {
  endpoint ep = sample();
  ep.retired_secrets.push_back({"whsec_expired", now - 1});
  const std::string old = ep.secret;
  rotate_secret(ep, now, 60'000);
  EXPECT_NE(ep.secret, old);
  EXPECT_EQ(ep.updated_at_ms, now);
  ASSERT_EQ(ep.retired_secrets.size(), 2u);
  EXPECT_EQ(ep.retired_secrets[1].secret, old);
  EXPECT_EQ(ep.retired_secrets[1].expires_at_ms, now + 60'000);
  rotate_secret(ep, now, 0);
  EXPECT_EQ(ep.retired_secrets.size(), 2u);  // no grace: the replaced secret is not kept
}

TEST(endpoint_ids, generated_ids_are_ep_and_24_lowercase_alphanumerics) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = generate_endpoint_id();
    ASSERT_EQ(id.size(), 27u) << id;
    EXPECT_TRUE(id.starts_with("ep_")) << id;
    for (const char c : id.substr(3)) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) << id;
    }
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(endpoint_secrets, generated_secrets_are_32_random_bytes) {
  const std::string a = generate_secret();
  const std::string b = generate_secret();
  EXPECT_NE(a, b);
  ASSERT_TRUE(signing::decode_secret(a));
  EXPECT_EQ(signing::decode_secret(a)->size(), 32u);
  // And they pass our own validation.
  create_ok(with("secret", a));
}

TEST(endpoint_secrets, signing_secrets_are_current_first_then_unexpired_retired) {
  endpoint ep = sample();
  ep.secret = "current";
  ep.retired_secrets = {{"expired", now - 1}, {"live", now + 1}, {"at_now", now}};
  EXPECT_EQ(signing_secrets(ep, now), (std::vector<std::string_view>{"current", "live"}));
  EXPECT_EQ(signing_secrets(ep, now + 10), std::vector<std::string_view>{"current"});
}

TEST(endpoint_secrets, chift_signs_with_the_oldest_secret_still_in_its_grace) {
  // x-chift-signature carries one value: during a grace period it stays on the secret a
  // receiver that has not switched yet holds, and moves on when that grace ends.
  endpoint ep;
  ep.secret = "current";
  EXPECT_EQ(chift_signing_secret(ep, 1000), "current");
  ep.retired_secrets = {{"second", 3000}, {"first", 2000}, {"expired", 500}};
  EXPECT_EQ(chift_signing_secret(ep, 1000), "first");
  EXPECT_EQ(chift_signing_secret(ep, 1999), "first");
  EXPECT_EQ(chift_signing_secret(ep, 2000), "second");
  EXPECT_EQ(chift_signing_secret(ep, 3000), "current");
}

TEST(endpoint_matching, empty_filters_match_everything) {
  endpoint ep;
  EXPECT_TRUE(matches(ep, "account.connection.created", consumer));
  EXPECT_TRUE(matches(ep, "anything.else", "00000000-0000-0000-0000-000000000000"));
}

TEST(endpoint_matching, type_filters_are_exact_or_dot_prefixes) {
  struct row {
    std::vector<std::string> events;
    const char* type;
    bool expected;
  };
  for (const row& r : {
           row{{"account.connection.created"}, "account.connection.created", true},
           row{{"account.connection.created"}, "account.connection.updated", false},
           row{{"account.connection.*"}, "account.connection.deleted", true},
           row{{"account.*"}, "account.connection.deleted", true},
           row{{"account.*"}, "accounts.connection.deleted", false},
           row{{"account.connection.*"}, "account.connectionx.created", false},
           row{{"account.connection.*"}, "account.connection", false},
           row{{"invoice.paid", "account.*"}, "account.x", true},
           row{{"invoice.paid", "account.*"}, "invoice.void", false},
       }) {
    endpoint ep;
    ep.events = r.events;
    EXPECT_EQ(matches(ep, r.type, consumer), r.expected) << r.type;
  }
}

TEST(endpoint_matching, consumer_filter_compares_uuids_ignoring_case) {
  endpoint ep;
  ep.consumers = {"8F14E45F-CEEA-4C6E-9A1B-2C3D4E5F6A7B"};
  EXPECT_TRUE(matches(ep, "a.b", consumer));
  EXPECT_FALSE(matches(ep, "a.b", "00000000-0000-0000-0000-000000000000"));
}

TEST(endpoint_matching, both_filters_must_pass) {
  endpoint ep;
  ep.events = {"a.*"};
  ep.consumers = {std::string(consumer)};
  EXPECT_TRUE(matches(ep, "a.b", consumer));
  EXPECT_FALSE(matches(ep, "b.c", consumer));
  EXPECT_FALSE(matches(ep, "a.b", "00000000-0000-0000-0000-000000000000"));
}

}  // namespace
}  // namespace dispatcher::routing
