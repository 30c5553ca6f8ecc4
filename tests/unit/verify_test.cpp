// Receiver-side verification: what we sign verifies, and each way a request can be wrong
// is named.
#include "dispatcher/signing/verify.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dispatcher/signing/signature.hpp"

namespace dispatcher::signing {
namespace {

// The Standard Webhooks specification's example secret.
const std::string verify_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string other = "whsec_" + base64_encode("another secret of 24 bytes");
const std::string body = R"({"event":"account.connection.created"})";
constexpr std::int64_t now = 1700000000;

TEST(verify, what_we_sign_verifies) {
  const auto header = standard_signature(verify_secret, "evt_1", now, body);
  EXPECT_TRUE(verify_standard(verify_secret, "evt_1", std::to_string(now), header, body, now).ok());
}

TEST(verify, one_matching_signature_of_several_is_enough) {
  const std::vector<std::string_view> secrets{other, verify_secret};
  const auto header = standard_signature_header(secrets, "evt_1", now, body);
  EXPECT_TRUE(verify_standard(verify_secret, "evt_1", std::to_string(now), header, body, now).ok());
  EXPECT_TRUE(
      verify_standard(verify_secret, "evt_1", std::to_string(now), "v1a,xyz " + header, body, now)
          .ok());
}

TEST(verify, a_tampered_body_id_or_wrong_secret_fails) {
  const auto header = standard_signature(verify_secret, "evt_1", now, body);
  const auto ts = std::to_string(now);
  EXPECT_EQ(verify_standard(verify_secret, "evt_1", ts, header, body + " ", now).reason,
            "no signature matches");
  EXPECT_FALSE(verify_standard(verify_secret, "evt_2", ts, header, body, now).ok());
  EXPECT_FALSE(verify_standard(other, "evt_1", ts, header, body, now).ok());
}

TEST(verify, the_timestamp_must_be_within_the_tolerance) {
  const auto old_ts = now - 301;
  const auto header = standard_signature(verify_secret, "evt_1", old_ts, body);
  EXPECT_EQ(
      verify_standard(verify_secret, "evt_1", std::to_string(old_ts), header, body, now).reason,
      "webhook-timestamp is too old");
  const auto future = now + 301;
  EXPECT_EQ(verify_standard(verify_secret, "evt_1", std::to_string(future),
                            standard_signature(verify_secret, "evt_1", future, body), body, now)
                .reason,
            "webhook-timestamp is in the future");
  EXPECT_EQ(verify_standard(verify_secret, "evt_1", "12a", header, body, now).reason,
            "webhook-timestamp is not a number of seconds");
}

TEST(verify, missing_headers_are_named) {
  EXPECT_EQ(verify_standard(verify_secret, "", "1", "v1,x", body, now).reason,
            "no webhook-id header");
  EXPECT_EQ(verify_standard(verify_secret, "a", "", "v1,x", body, now).reason,
            "no webhook-timestamp header");
  EXPECT_EQ(verify_standard(verify_secret, "a", "1", "", body, now).reason,
            "no webhook-signature header");
  EXPECT_EQ(verify_standard("nope", "a", "1", "v1,x", body, now).reason,
            "the secret is not of the form whsec_<base64>");
}

TEST(verify, chift_signatures_verify_in_any_case) {
  auto sig = chift_signature(verify_secret, body);
  EXPECT_TRUE(verify_chift(verify_secret, sig, body).ok());
  for (auto& c : sig) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(verify_chift(verify_secret, sig, body).ok());
  EXPECT_FALSE(verify_chift(verify_secret, sig, body + "x").ok());
  EXPECT_EQ(verify_chift(verify_secret, "", body).reason, "no x-chift-signature header");
}

}  // namespace
}  // namespace dispatcher::signing
