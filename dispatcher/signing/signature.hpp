// Webhook signatures. Pure functions over the exact bytes sent: Standard Webhooks v1
// (HMAC-SHA256 over "<id>.<timestamp>.<body>" keyed with the base64-decoded secret) and
// the X-Chift-Signature scheme (hex HMAC-SHA256 of the body keyed with the secret string).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dispatcher::signing {

/// The key bytes of a "whsec_<base64>" secret; nullopt when it is not of that form.
std::optional<std::string> decode_secret(std::string_view secret);

/// "v1,<base64 signature>" for one secret.
std::string standard_signature(std::string_view secret, std::string_view msg_id,
                               std::int64_t timestamp, std::string_view body);

/// The webhook-signature header value: one "v1,..." per secret, space separated.
std::string standard_signature_header(std::span<const std::string_view> secrets,
                                      std::string_view msg_id, std::int64_t timestamp,
                                      std::string_view body);

/// Lowercase hex HMAC-SHA256 of body keyed with the secret string's bytes.
std::string chift_signature(std::string_view secret, std::string_view body);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
/// Lowercase hex SHA-256 of data.
std::string sha256_hex(std::string_view data);
/// Appends the first `hex_digits` characters of the lowercase hex SHA-256 of the parts
/// one after the other, with no temporary string (a delivery id is made per delivery).
void append_sha256_hex(std::string& out, std::initializer_list<std::string_view> parts,
                       std::size_t hex_digits = 64);

/// Text as the unsigned bytes OpenSSL's functions take.
inline const unsigned char* openssl_bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace dispatcher::signing
