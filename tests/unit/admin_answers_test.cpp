// What the admin API commands (replay, dead-letters) send and what they make of the
// answers: the line printed, the sentence of a failure and the exit code.
#include "dispatcher/app/admin_answers.hpp"

#include <gtest/gtest.h>

namespace dispatcher::app {
namespace {

const std::string api = "the admin API at http://127.0.0.1:8080";

environment_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_body(const std::string& message) {
  return R"({"error":{"code":"conflict","message":")" + message + R"("}})";
}

TEST(admin_answers, the_api_is_the_flag_then_the_variable_then_the_local_default) {
  auto a = admin_api_from(std::nullopt, env_of({{"DISPATCHER_ADMIN_TOKEN", "t"}}));
  ASSERT_TRUE(std::holds_alternative<admin_api_address>(a));
  EXPECT_EQ(std::get<admin_api_address>(a).url, "http://127.0.0.1:8080");
  EXPECT_EQ(std::get<admin_api_address>(a).where.port, 8080);
  EXPECT_EQ(std::get<admin_api_address>(a).token, "t");

  const auto env = env_of({{"DISPATCHER_ADMIN_TOKEN", "t"}, {"DISPATCHER_URL", "http://a:1"}});
  EXPECT_EQ(std::get<admin_api_address>(admin_api_from(std::nullopt, env)).where.host, "a");
  const auto flagged = std::get<admin_api_address>(admin_api_from("http://b:2", env));
  EXPECT_EQ(flagged.where.host, "b");
  EXPECT_EQ(flagged.name(), "the admin API at http://b:2");
}

TEST(admin_answers, no_token_or_a_bad_url_is_a_sentence) {
  EXPECT_EQ(std::get<std::string>(admin_api_from(std::nullopt, env_of({}))),
            "DISPATCHER_ADMIN_TOKEN is not set");
  const auto env = env_of({{"DISPATCHER_ADMIN_TOKEN", "t"}});
  EXPECT_EQ(std::get<std::string>(admin_api_from("https://x", env)),
            "DISPATCHER_URL: the admin API is served over http");
  EXPECT_EQ(std::get<std::string>(admin_api_from("ftp://x", env)).rfind("DISPATCHER_URL: ", 0), 0u);
}

TEST(admin_answers, an_id_cannot_change_the_path_it_is_put_in) {
  EXPECT_EQ(path_segment("dlv_0123-abc.~_"), "dlv_0123-abc.~_");
  EXPECT_EQ(path_segment("../admin?x=1#y"), "..%2Fadmin%3Fx%3D1%23y");
  EXPECT_EQ(path_segment("1700000000000-0"), "1700000000000-0");
  EXPECT_EQ(path_segment("a b\n"), "a%20b%0A");
}

TEST(admin_answers, the_apis_own_error_message_or_the_body_cut_short) {
  EXPECT_EQ(api_error_text(error_body("it is running")), "it is running");
  EXPECT_EQ(api_error_text("plain text"), "plain text");
  EXPECT_EQ(api_error_text(R"({"error":"flat"})"), R"({"error":"flat"})");
  EXPECT_EQ(api_error_text(std::string(300, 'x')), std::string(200, 'x') + "...");
}

TEST(admin_answers, control_characters_cannot_reach_the_terminal) {
  EXPECT_EQ(printable("a\x1b[2Jb\r\n\x7f"
                      "c"),
            "a [2Jb   c");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(admin_answers, the_replay_body_carries_only_the_filters_given) {
  replay_options o;
  EXPECT_EQ(replay_request_body(o), (nlohmann::json{{"status", "failed"}, {"dry_run", false}}));
  o.endpoint = "ep_1";
  o.event = "account.connection.created";
  o.consumer = "c";
  o.connection = "n";
  o.since = "2026-01-01T00:00:00Z";
  o.until = "1700000000";
  o.dry_run = true;
  o.status = "succeeded";
  EXPECT_EQ(replay_request_body(o), (nlohmann::json{{"status", "succeeded"},
                                                    {"dry_run", true},
                                                    {"endpoint_id", "ep_1"},
                                                    {"event", "account.connection.created"},
                                                    {"consumerid", "c"},
                                                    {"connectionid", "n"},
                                                    {"since", "2026-01-01T00:00:00Z"},
                                                    {"until", "1700000000"}}));
}

TEST(admin_answers, replaying_one_delivery) {
  const auto queued = replay_one_outcome("dlv_1", {202, "{}"}, api);
  EXPECT_EQ(queued.exit_code, 0);
  EXPECT_EQ(queued.out, "replayed delivery dlv_1: queued for one new attempt\n");
  EXPECT_FALSE(queued.failure);
  EXPECT_EQ(replay_one_outcome("dlv_1", {200, "{}"}, api).exit_code, 0);

  const auto missing = replay_one_outcome("dlv_1", {404, error_body("no")}, api);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(*missing.failure, "no delivery dlv_1 (it does not exist or is past retention)");
  EXPECT_EQ(*replay_one_outcome("dlv_1", {409, error_body("it is pending")}, api).failure,
            "cannot replay delivery dlv_1: it is pending");
  EXPECT_EQ(*replay_one_outcome("dlv_1", {401, error_body("bad token")}, api).failure,
            api + " refused the replay (401): bad token");
}

TEST(admin_answers, a_bulk_replay_by_endpoint_first_checks_it_exists) {
  EXPECT_FALSE(endpoint_check_failure("ep_1", {200, "{}"}, api));
  EXPECT_EQ(*endpoint_check_failure("ep_x", {404, ""}, api), "endpoint ep_x does not exist");
  EXPECT_EQ(*endpoint_check_failure("ep_1", {500, error_body("down")}, api),
            api + " refused to show endpoint ep_1 (500): down");
}

TEST(admin_answers, the_count_of_a_dry_run) {
  EXPECT_EQ(matched_count({200, R"({"matched":12,"queued":0})"}), 12);
  EXPECT_EQ(matched_count({200, R"({"queued":0})"}), std::nullopt);
  EXPECT_EQ(matched_count({200, R"({"matched":"12"})"}), std::nullopt);
  EXPECT_EQ(matched_count({400, R"({"matched":12})"}), std::nullopt);
  EXPECT_EQ(matched_count({200, "not json"}), std::nullopt);
}

TEST(admin_answers, a_bulk_replay_prints_the_counts) {
  EXPECT_EQ(replay_outcome(false, {200, R"({"matched":3,"queued":2})"}, api).out,
            "matched 3 deliveries, queued 2\n");
  EXPECT_EQ(replay_outcome(true, {200, R"({"matched":3,"queued":0})"}, api).out,
            "dry run: 3 deliveries match; none queued\n");
  EXPECT_EQ(replay_outcome(false, {200, R"({})"}, api).out, "matched 0 deliveries, queued 0\n");
  const auto refused = replay_outcome(false, {422, error_body("bad since")}, api);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(*refused.failure, api + " refused the replay (422): bad since");
  EXPECT_EQ(*replay_outcome(false, {200, "[]"}, api).failure,
            api + " answered 200 without a JSON object");
}

TEST(admin_answers, a_retry_body_holds_one_corrected_event) {
  const auto body = retry_body_from(R"({"type":"x"})", "fix.json");
  EXPECT_EQ(std::get<nlohmann::json>(body), (nlohmann::json{{"payload", {{"type", "x"}}}}));
  EXPECT_EQ(std::get<std::string>(retry_body_from("[1]", "standard input")),
            "standard input must hold one JSON object, the corrected event");
  EXPECT_EQ(std::get<std::string>(retry_body_from("{", "fix.json")).rfind("fix.json ", 0), 0u);
  EXPECT_TRUE(std::holds_alternative<std::string>(retry_body_from(R"({"a":1,"a":2})", "f")));
}

TEST(admin_answers, the_list_target_pages_with_the_cursor) {
  EXPECT_EQ(dead_letters_list_target(50, std::nullopt), "/v1/dead-letters?limit=50");
  EXPECT_EQ(dead_letters_list_target(5, "170-0"), "/v1/dead-letters?limit=5&cursor=170-0");
}

TEST(admin_answers, deleting_and_retrying_a_dead_letter) {
  EXPECT_EQ(dead_letter_delete_outcome("1-0", {204, ""}, api).out, "deleted dead letter 1-0\n");
  EXPECT_EQ(*dead_letter_delete_outcome("1-0", {404, ""}, api).failure, "no dead letter 1-0");
  EXPECT_EQ(*dead_letter_delete_outcome("1-0", {503, error_body("busy")}, api).failure,
            api + " answered 503: busy");

  EXPECT_EQ(dead_letter_retry_outcome("1-0", {201, R"({"id":"e1"})"}, api).out,
            "retried dead letter 1-0: published as event e1; the dead letter is removed\n");
  EXPECT_EQ(dead_letter_retry_outcome("1-0", {200, R"({"id":"e1","duplicate":true})"}, api).out,
            "retried dead letter 1-0: event e1 was already accepted; nothing sent again; the "
            "dead letter is removed\n");
  const auto invalid = dead_letter_retry_outcome("1-0", {422, error_body("type is missing")}, api);
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(*invalid.failure, "dead letter 1-0 is still invalid and stays: type is missing");
  EXPECT_EQ(*dead_letter_retry_outcome("1-0", {404, ""}, api).failure, "no dead letter 1-0");
}

TEST(admin_answers, the_list_shows_each_letter_and_how_to_go_on) {
  const std::string body = R"({"data":[{"id":"2-0","at":"2026-11-29T10:00:00Z","source_id":"1-0",)"
                           R"("error":"not JSON","payload":"x\u001b[2Jy"}],"next_cursor":"2-0"})";
  const auto listed = dead_letters_list_outcome(1, {200, body}, api);
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.out,
            "2-0  2026-11-29T10:00:00Z  from stream entry 1-0\n"
            "  error:   not JSON\n"
            "  payload: x [2Jy\n"
            "more: dispatcher dead-letters --limit 1 --cursor 2-0\n");
  EXPECT_EQ(dead_letters_list_outcome(50, {200, R"({"data":[]})"}, api).out, "no dead letters\n");
  EXPECT_EQ(*dead_letters_list_outcome(50, {200, R"({"items":[]})"}, api).failure,
            api + " answered without a list");
  EXPECT_EQ(*dead_letters_list_outcome(50, {401, error_body("token")}, api).failure,
            api + " answered 401: token");
}

}  // namespace
}  // namespace dispatcher::app
