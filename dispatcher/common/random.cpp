// Rejection sampling rather than `byte % size`, and OpenSSL rather than <random>: ids and
// secrets are guessable otherwise, and a failing CSPRNG must stop the caller, not degrade.
#include "dispatcher/common/random.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>

namespace dispatcher {

void random_bytes(std::span<unsigned char> out) {
  // RAND_bytes takes an int; ids and secrets are a few dozen bytes, so chunking is only
  // for correctness.
  while (!out.empty()) {
    const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      throw std::runtime_error("RAND_bytes failed: no secure randomness available");
    }
    out = out.subspan(n);
  }
}

std::string random_string(std::size_t length, std::string_view alphabet,
                          const byte_source& source) {
  if (alphabet.empty() || alphabet.size() > 256) {
    throw std::invalid_argument("random_string: the alphabet must have 1 to 256 characters");
  }
  // 256 - 256 % 36 = 252: bytes 252..255 are rejected, the rest map 7 to each character.
  const std::size_t limit = 256 - 256 % alphabet.size();
  std::string out;
  out.reserve(length);
  std::array<unsigned char, 64> pool{};
  std::size_t used = pool.size();
  while (out.size() < length) {
    if (used == pool.size()) {
      source(pool);
      used = 0;
    }
    const unsigned char b = pool[used++];
    if (b < limit) out += alphabet[b % alphabet.size()];
  }
  return out;
}

std::string random_id(std::size_t length) {
  return random_string(length, id_alphabet);
}

}  // namespace dispatcher
