// Signatures against independently computed values: the Standard Webhooks specification's
// own test vector, and HMACs computed with the openssl command line and Python's hmac.
#include "dispatcher/signing/signature.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dispatcher::signing {
namespace {

constexpr std::string_view spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t spec_timestamp = 1614265330;
constexpr std::string_view spec_body = R"({"test": 2432232314})";
constexpr std::string_view spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// whsec_ + base64("0123456789abcdef0123456789abcdef"). Expected signature from:
// printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
//   openssl dgst -sha256 -mac HMAC -macopt key:0123456789abcdef0123456789abcdef -binary | base64
constexpr std::string_view second_secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
constexpr std::string_view second_signature = "v1,hK4CWvngkaAwjY1pABLuUbOIkEJjW9tAapq1no4ojG0=";

TEST(signature, standard_signature_matches_the_specification_vector) {
  EXPECT_EQ(standard_signature(spec_secret, spec_id, spec_timestamp, spec_body), spec_signature);
}

TEST(signature, standard_signature_changes_with_id_timestamp_and_body) {
  EXPECT_NE(standard_signature(spec_secret, "msg_other", spec_timestamp, spec_body),
            spec_signature);
  EXPECT_NE(standard_signature(spec_secret, spec_id, spec_timestamp + 1, spec_body),
            spec_signature);
  EXPECT_NE(standard_signature(spec_secret, spec_id, spec_timestamp, R"({"test":2432232314})"),
            spec_signature);
}

TEST(signature, standard_signature_is_keyed_with_the_decoded_secret) {
  EXPECT_EQ(standard_signature(second_secret, spec_id, spec_timestamp, spec_body),
            second_signature);
}

TEST(signature, header_lists_one_signature_per_secret_space_separated) {
  const std::vector<std::string_view> secrets{spec_secret, second_secret};
  EXPECT_EQ(standard_signature_header(secrets, spec_id, spec_timestamp, spec_body),
            std::string(spec_signature) + " " + std::string(second_signature));
}

TEST(signature, header_with_one_secret_has_no_separator) {
  const std::vector<std::string_view> secrets{spec_secret};
  EXPECT_EQ(standard_signature_header(secrets, spec_id, spec_timestamp, spec_body), spec_signature);
}

TEST(signature, chift_signature_is_hex_hmac_keyed_with_the_whole_secret_string) {
  // printf '%s' '{"test": 2432232314}' |
  //   openssl dgst -sha256 -hmac 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
  EXPECT_EQ(chift_signature(spec_secret, spec_body),
            "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c");
}

TEST(signature, chift_signature_with_an_empty_key_is_still_an_hmac) {
  // python3 -c "import hmac,hashlib; print(hmac.new(b'',b'body',hashlib.sha256).hexdigest())"
  EXPECT_EQ(chift_signature("", "body"),
            "7ec3619ea7f921721b6d8bec83ea2d0c6d557e0b164daf577e62c8cc88ed74ae");
}

TEST(signature, decode_secret_returns_the_key_bytes) {
  EXPECT_EQ(decode_secret(second_secret), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(decode_secret(spec_secret)->size(), 24u);
}

TEST(signature, decode_secret_rejects_other_forms) {
  EXPECT_EQ(decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::nullopt);  // no prefix
  EXPECT_EQ(decode_secret("whsec_"), std::nullopt);
  EXPECT_EQ(decode_secret("whsec_not base64!"), std::nullopt);
  EXPECT_EQ(decode_secret("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::nullopt);
}

TEST(base64, encodes_rfc4648_vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(base64, decodes_rfc4648_vectors_without_padding_bytes) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(base64, decodes_unpadded_input) {
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm9vYmE"), "fooba");
}

TEST(base64, round_trips_binary_bytes) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
}

TEST(base64, rejects_invalid_input) {
  for (const char* text :
       {"Z", "Zg=", "Zg===", "Z===", "Zm9v!", "Zm 9v", " Zm9v", "Zm9v\n", "Zg==Zg==", "=Zg="}) {
    EXPECT_EQ(base64_decode(text), std::nullopt) << text;
  }
}

TEST(hex, encodes_lowercase) {
  EXPECT_EQ(hex_encode(std::string_view("\x00\x0f\xab\xff", 4)), "000fabff");
}

TEST(sha256, matches_known_digests) {
  // printf '%s' hello | openssl dgst -sha256
  EXPECT_EQ(sha256_hex("hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Each key's HMAC context is kept and reset per signature (signature.cpp): a signature must
// never be keyed with the previous call's key, nor carry the previous message's bytes.
TEST(signature, signatures_alternating_between_keys_each_use_their_own_key) {
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(standard_signature(spec_secret, spec_id, spec_timestamp, spec_body), spec_signature);
    EXPECT_EQ(standard_signature(second_secret, spec_id, spec_timestamp, spec_body),
              second_signature);
  }
}

TEST(signature, the_same_text_keys_each_scheme_its_own_way) {
  // The standard scheme keys with the decoded secret, the Chift one with the whole string.
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(chift_signature(spec_secret, spec_body),
              "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c");
    EXPECT_EQ(standard_signature(spec_secret, spec_id, spec_timestamp, spec_body), spec_signature);
  }
}

TEST(signature, a_repeated_signature_does_not_carry_the_previous_message) {
  const auto other = standard_signature(spec_secret, spec_id, spec_timestamp, "{}");
  EXPECT_NE(other, spec_signature);
  EXPECT_EQ(standard_signature(spec_secret, spec_id, spec_timestamp, spec_body), spec_signature);
  EXPECT_EQ(standard_signature(spec_secret, spec_id, spec_timestamp, "{}"), other);
}

TEST(signature, signatures_stay_right_when_more_keys_are_used_than_are_kept) {
  // More keys than the cache keeps (1024), then the vectors again.
  std::string first;
  for (int i = 0; i < 1100; ++i) {
    const auto sig = chift_signature("key-" + std::to_string(i), spec_body);
    if (i == 0) first = sig;
  }
  EXPECT_EQ(chift_signature("key-0", spec_body), first);
  EXPECT_EQ(chift_signature(spec_secret, spec_body),
            "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c");
  EXPECT_EQ(standard_signature(second_secret, spec_id, spec_timestamp, spec_body),
            second_signature);
}

TEST(signature, negative_and_large_timestamps_are_signed_as_decimal_text) {
  // python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
  //   b'0123456789abcdef0123456789abcdef', b'id.-9223372036854775808.b',
  //   hashlib.sha256).digest()).decode())"
  EXPECT_EQ(standard_signature(second_secret, "id", INT64_MIN, "b"),
            "v1,2lcHIkH1vryD/iZP0JEv/BrlHXtr3juzkXbt9SmUeoE=");
}

}  // namespace
}  // namespace dispatcher::signing
