// Random ids: the alphabet and length asked for, every character equally likely
// (rejection sampling, checked with an injected byte source and statistically with the
// real one), and a failing byte source surfacing as an error instead of a weak id.
#include "dispatcher/common/random.hpp"

#include <array>
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

#include "dispatcher/routing/endpoint.hpp"

namespace dispatcher {
namespace {

TEST(random, id_has_the_length_and_alphabet_asked_for) {
  for (const std::size_t length : {0u, 1u, 20u, 24u, 200u}) {
    const std::string id = random_id(length);
    EXPECT_EQ(id.size(), length);
    EXPECT_EQ(id.find_first_not_of(id_alphabet), std::string::npos) << id;
  }
}

TEST(random, ids_differ) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(random_id(20));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(random, bytes_past_the_last_whole_multiple_are_skipped) {
  // 256 = 7 * 36 + 4: bytes 252..255 would make '0'..'3' (the first four characters under
  // % 36) more likely, so they are skipped rather than mapped.
  const byte_source source = [](std::span<unsigned char> out) {
    std::fill(out.begin(), out.end(), 0);
    out[0] = 252;
    out[1] = 255;
    out[2] = 251;  // 251 % 36 = 35: '9'
    out[3] = 36;   // 'a'
    out[4] = 253;
    out[5] = 1;  // 'b'
  };
  EXPECT_EQ(random_string(3, id_alphabet, source), "9ab");
}

TEST(random, a_pool_of_rejected_bytes_draws_again) {
  int calls = 0;
  const byte_source source = [&calls](std::span<unsigned char> out) {
    std::fill(out.begin(), out.end(), ++calls < 3 ? 255 : 0);
  };
  EXPECT_EQ(random_string(2, id_alphabet, source), "aa");
  EXPECT_EQ(calls, 3);
}

TEST(random, a_failing_source_is_an_error_not_an_id) {
  const byte_source failing = [](std::span<unsigned char>) {
    throw std::runtime_error("no randomness");
  };
  EXPECT_THROW(random_string(8, id_alphabet, failing), std::runtime_error);
  EXPECT_THROW(random_string(8, "", random_bytes), std::invalid_argument);
}

TEST(random, characters_are_uniform) {
  // 36 * 10,000 characters: each count is about 10,000 with a standard deviation near
  // 99. Under `byte % 36` the first four would average 11,111 (+11%), far outside the
  // +-6% allowed here, which a fair generator leaves with odds below 1e-9.
  const std::string sample = random_id(360'000);
  std::array<int, 256> counts{};
  for (const char c : sample) ++counts[static_cast<unsigned char>(c)];
  for (const char c : id_alphabet) {
    EXPECT_NEAR(counts[static_cast<unsigned char>(c)], 10'000, 600) << c;
  }
}

TEST(random, endpoint_ids_use_the_shared_generator) {
  const std::string id = routing::generate_endpoint_id();
  ASSERT_EQ(id.size(), 27u);
  EXPECT_EQ(id.substr(0, 3), "ep_");
  EXPECT_EQ(id.find_first_not_of(id_alphabet, 3), std::string::npos) << id;
}

}  // namespace
}  // namespace dispatcher
