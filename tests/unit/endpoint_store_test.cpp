// Reading an endpoint's Redis hash: a damaged hash is a value saying why, never an
// exception, so one bad record cannot end the registry's refresh loop (issue 8).
#include "dispatcher/routing/endpoint_hash.hpp"

#include <gtest/gtest.h>

namespace dispatcher::routing {
namespace {

using fields = std::map<std::string, std::string>;

endpoint stored_sample() {
  endpoint ep;
  ep.id = "ep_abc";
  ep.url = "https://hooks.example.com/in";
  ep.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  ep.updated_at_ms = 1'000;
  return ep;
}

TEST(endpoint_hash, hash_fields_win_over_the_json) {
  const auto parsed = endpoint_from_hash({{"json", to_storage(stored_sample())},
                                          {"enabled", "0"},
                                          {"disabled_reason", "410"},
                                          {"updated_at", "5000"}},
                                         nullptr);
  const auto* ep = std::get_if<endpoint>(&parsed);
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->enabled);
  EXPECT_EQ(ep->disabled_reason, "410");
  EXPECT_EQ(ep->updated_at_ms, 5000);
}

TEST(endpoint_hash, circuit_comes_from_the_breaker_fields) {
  const auto circuit = [](std::map<std::string, std::string> fields) {
    fields["json"] = to_storage(stored_sample());
    const auto parsed = endpoint_from_hash(fields, nullptr);
    return std::get<endpoint>(parsed).circuit;
  };
  EXPECT_EQ(circuit({{"cb_fails", "3"}}), circuit_state::closed);
  EXPECT_EQ(circuit({{"cb_open", "1700000000000"}}), circuit_state::open);
  EXPECT_EQ(circuit({{"cb_open", "1700000000000"}, {"cb_probe", "dlv_1"}}),
            circuit_state::half_open);
}

TEST(endpoint_hash, a_bad_updated_at_is_a_reason_not_an_exception) {
  for (const char* bad : {"garbage", "", "12x", "99999999999999999999999", " 5"}) {
    const auto parsed =
        endpoint_from_hash({{"json", to_storage(stored_sample())}, {"updated_at", bad}}, nullptr);
    const auto* why = std::get_if<std::string>(&parsed);
    ASSERT_TRUE(why) << bad;
    EXPECT_NE(why->find("updated_at"), std::string::npos) << *why;
  }
}

TEST(endpoint_hash, invalid_or_missing_json_is_a_reason) {
  EXPECT_TRUE(std::holds_alternative<std::string>(endpoint_from_hash({{"json", "{"}}, nullptr)));
  EXPECT_TRUE(std::holds_alternative<std::string>(endpoint_from_hash({{"enabled", "1"}}, nullptr)));
  EXPECT_TRUE(std::holds_alternative<std::string>(
      endpoint_from_hash({{"json", R"({"id":"ep_1","url":5,"secret":"s"})"}}, nullptr)));
}

TEST(endpoint_hash, an_unopened_secret_loads_with_its_reason) {
  std::array<unsigned char, 32> bytes{};
  bytes.fill(7);
  const signing::secret_box key(bytes);
  const auto parsed = endpoint_from_hash({{"json", to_storage(stored_sample(), &key)}}, nullptr);
  const auto* ep = std::get_if<endpoint>(&parsed);
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->secret_error.empty());
}

}  // namespace
}  // namespace dispatcher::routing
