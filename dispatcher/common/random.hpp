// Random ids and bytes from OpenSSL's CSPRNG. Ids that reach URLs and Redis keys (API-made
// event ids, endpoint ids) come from here, so there is one place that checks RAND_bytes'
// result and one place that maps bytes to characters without bias.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace dispatcher {

/// Lowercase letters and digits: safe in URLs, Redis keys and file names, and case-stable.
inline constexpr std::string_view id_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

/// Fills `out` from RAND_bytes. Throws std::runtime_error when the CSPRNG fails: nothing
/// safe can be generated then, and a predictable id or secret is worse than an error.
void random_bytes(std::span<unsigned char> out);

using byte_source = std::function<void(std::span<unsigned char>)>;

/// `length` characters, each drawn uniformly from `alphabet` (1 to 256 distinct
/// characters) by rejection sampling: bytes at or above the largest multiple of the
/// alphabet's size are skipped, since `byte % size` would favour the first characters.
/// `source` supplies the bytes (tests inject their own).
std::string random_string(std::size_t length, std::string_view alphabet,
                          const byte_source& source = random_bytes);

/// `length` characters of id_alphabet.
std::string random_id(std::size_t length);

}  // namespace dispatcher
