// Sealing endpoint secrets at rest: AES-256-GCM under the operator's
// DISPATCHER_ENCRYPTION_KEY, so that a copy of the Redis data (a backup, an RDB file, a
// replica) does not hand out the keys that sign webhooks. Pure functions over OpenSSL's EVP
// interface, no I/O. A sealed value is text and carries a versioned prefix, so plaintext
// values written before the key was set are told apart from sealed ones and keep working.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher::signing {

/// Every sealed value starts with this; the version names the algorithm and layout:
/// "enc:v1:" + base64(96-bit nonce || ciphertext || 128-bit GCM tag).
inline constexpr std::string_view sealed_prefix = "enc:v1:";

/// True when the value was written by secret_box::seal (it says nothing about the key).
bool is_sealed(std::string_view value);

class secret_box {
 public:
  static constexpr std::size_t key_bytes = 32;

  /// The key from its base64 form; nullopt unless it decodes to exactly 32 bytes.
  static std::optional<secret_box> from_base64(std::string_view text);

  explicit secret_box(const std::array<unsigned char, key_bytes>& key) : key_(key) {}
  secret_box(const secret_box&) = default;
  secret_box& operator=(const secret_box&) = default;
  ~secret_box();

  /// Encrypts with a fresh random nonce. `context` is authenticated but not stored (the
  /// endpoint id), so a sealed value copied onto another record does not open there.
  /// Throws only when OpenSSL cannot give randomness or a cipher context.
  std::string seal(std::string_view plaintext, std::string_view context) const;

  /// The plaintext, or nullopt when the value is not sealed, is damaged, or was sealed
  /// under another key or context.
  std::optional<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  std::array<unsigned char, key_bytes> key_;
};

}  // namespace dispatcher::signing
