// Secrets at rest (CONTRACT section 4): AES-256-GCM sealing, its key format, and that a
// wrong key, another context or any damage is refused rather than decrypted into garbage.
#include "dispatcher/signing/secret_box.hpp"

#include <gtest/gtest.h>

#include <set>

#include "dispatcher/signing/signature.hpp"

namespace dispatcher::signing {
namespace {

secret_box key_of(char fill) {
  std::array<unsigned char, secret_box::key_bytes> bytes{};
  bytes.fill(static_cast<unsigned char>(fill));
  return secret_box(bytes);
}

constexpr std::string_view secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

TEST(secret_box, seal_and_open_round_trip) {
  const auto box = key_of('k');
  const std::string sealed = box.seal(secret, "ep_1");
  EXPECT_TRUE(sealed.starts_with("enc:v1:"));
  EXPECT_TRUE(is_sealed(sealed));
  EXPECT_EQ(sealed.find(secret), std::string::npos);
  EXPECT_EQ(box.open(sealed, "ep_1"), std::string(secret));
  EXPECT_EQ(box.open(box.seal("", "ep_1"), "ep_1"), std::string());
}

TEST(secret_box, every_seal_uses_a_fresh_nonce) {
  const auto box = key_of('k');
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(box.seal(secret, "ep_1"));
  EXPECT_EQ(seen.size(), 50u);
}

TEST(secret_box, layout_is_nonce_ciphertext_tag) {
  const std::string sealed = key_of('k').seal(secret, "ep_1");
  const auto raw = base64_decode(sealed.substr(sealed_prefix.size()));
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->size(), 12 + secret.size() + 16);
}

TEST(secret_box, another_key_does_not_open_it) {
  const std::string sealed = key_of('k').seal(secret, "ep_1");
  EXPECT_FALSE(key_of('x').open(sealed, "ep_1"));
}

TEST(secret_box, another_context_does_not_open_it) {
  const std::string sealed = key_of('k').seal(secret, "ep_1");
  EXPECT_FALSE(key_of('k').open(sealed, "ep_2"));
}

TEST(secret_box, any_flipped_bit_is_detected) {
  const auto box = key_of('k');
  const std::string sealed = box.seal(secret, "ep_1");
  auto raw = *base64_decode(sealed.substr(sealed_prefix.size()));
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string damaged = raw;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    EXPECT_FALSE(box.open(std::string(sealed_prefix) + base64_encode(damaged), "ep_1"))
        << "byte " << i;
  }
}

TEST(secret_box, truncated_and_malformed_values_are_refused) {
  const auto box = key_of('k');
  const std::string sealed = box.seal(secret, "ep_1");
  for (const std::string& bad :
       {sealed.substr(0, sealed.size() - 4), std::string("enc:v1:"), std::string("enc:v1:!!!!"),
        std::string("enc:v2:") + sealed.substr(7), std::string(secret),
        std::string("enc:v1:") + base64_encode(std::string(27, 'a'))}) {
    EXPECT_FALSE(box.open(bad, "ep_1")) << bad;
  }
}

TEST(secret_box, plaintext_secrets_are_not_sealed) {
  EXPECT_FALSE(is_sealed(secret));
  EXPECT_FALSE(is_sealed(""));
  EXPECT_FALSE(is_sealed("enc:v1"));
}

TEST(secret_box, key_must_be_base64_of_exactly_32_bytes) {
  const std::string good = base64_encode(std::string(32, 'k'));
  const auto box = secret_box::from_base64(good);
  ASSERT_TRUE(box);
  EXPECT_EQ(box->open(key_of('k').seal(secret, "c"), "c"), std::string(secret));
  for (const std::string& bad :
       {std::string(), base64_encode(std::string(31, 'k')), base64_encode(std::string(33, 'k')),
        std::string("not base64 at all, not even close to it!!"), good.substr(1)}) {
    EXPECT_FALSE(secret_box::from_base64(bad)) << bad;
  }
}

}  // namespace
}  // namespace dispatcher::signing
