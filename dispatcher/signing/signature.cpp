// HMAC-SHA256, base64 and hex over OpenSSL's one-shot calls. Each function is stateless
// and allocation-light: one signature per attempt, so no context reuse is worth its
// complexity.
#include "dispatcher/signing/signature.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace dispatcher::signing {

namespace {

constexpr std::string_view secret_prefix = "whsec_";

using digest = std::array<unsigned char, 32>;

digest hmac_sha256(std::string_view key, std::string_view data) {
  // OpenSSL 3 reads a null key pointer as "no key set" and fails; an empty key still needs
  // a real pointer.
  static const unsigned char empty = 0;
  const auto* key_bytes = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
  digest out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string_view as_view(const digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips surrounding whitespace and counts "=" padding as zero bytes, so
  // the input is checked here first and the padding length taken off its result.
  std::size_t data_chars = text.size();
  while (data_chars > 0 && text[data_chars - 1] == '=') --data_chars;
  const std::size_t padding = text.size() - data_chars;
  if (padding > 2) return std::nullopt;
  for (std::size_t i = 0; i < data_chars; ++i) {
    if (!is_base64_char(text[i])) return std::nullopt;
  }
  // Unpadded input is accepted (some encoders drop the "="), but only at a legal length.
  if (data_chars % 4 == 1) return std::nullopt;
  if (padding != 0 && text.size() % 4 != 0) return std::nullopt;
  std::string padded(text.substr(0, data_chars));
  const std::size_t pad_to = (4 - data_chars % 4) % 4;
  padded.append(pad_to, '=');
  if (padded.empty()) return std::string();

  std::string out(padded.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(padded.data()),
                                static_cast<int>(padded.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad_to) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad_to);
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  digest out{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &length, EVP_sha256(), nullptr);
  return hex_encode(as_view(out));
}

std::optional<std::string> decode_secret(std::string_view secret) {
  if (!secret.starts_with(secret_prefix)) return std::nullopt;
  auto key = base64_decode(secret.substr(secret_prefix.size()));
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string standard_signature(std::string_view secret, std::string_view msg_id,
                               std::int64_t timestamp, std::string_view body) {
  // Secrets are validated when an endpoint is written, so a malformed one is a bug; keying
  // with its raw bytes still yields a deterministic (unverifiable) signature, not a crash.
  const std::optional<std::string> decoded = decode_secret(secret);
  const std::string_view key = decoded ? std::string_view(*decoded) : secret;

  std::string signed_content;
  signed_content.reserve(msg_id.size() + body.size() + 24);
  signed_content += msg_id;
  signed_content += '.';
  signed_content += std::to_string(timestamp);
  signed_content += '.';
  signed_content += body;
  return "v1," + base64_encode(as_view(hmac_sha256(key, signed_content)));
}

std::string standard_signature_header(std::span<const std::string> secrets, std::string_view msg_id,
                                      std::int64_t timestamp, std::string_view body) {
  std::string out;
  for (const std::string& secret : secrets) {
    if (!out.empty()) out += ' ';
    out += standard_signature(secret, msg_id, timestamp, body);
  }
  return out;
}

std::string chift_signature(std::string_view secret, std::string_view body) {
  return hex_encode(as_view(hmac_sha256(secret, body)));
}

}  // namespace dispatcher::signing
