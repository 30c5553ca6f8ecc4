// HMAC-SHA256, base64 and hex over OpenSSL. Every attempt signs once or twice, and
// OpenSSL 3's one-shot HMAC() fetches the algorithm, allocates three digest contexts and
// runs the key schedule on every call (about 50 allocations and a fifth of the
// dispatcher's CPU per delivery in the issue 9 profile); so each key's HMAC context is
// kept, keyed, and only reset per signature (hmac_keys below). The functions stay pure:
// the cache changes how fast a signature is computed, never what it is.
#include "dispatcher/signing/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <memory>
#include <stdexcept>
#include <unordered_map>

namespace dispatcher::signing {

namespace {

constexpr std::string_view secret_prefix = "whsec_";

using digest = std::array<unsigned char, 32>;

struct mac_free {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using mac_ctx = std::unique_ptr<EVP_MAC_CTX, mac_free>;

struct transparent_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// HMAC-SHA256 contexts, one per key, each set up once (the algorithm fetched, the key's
/// inner and outer pads hashed) and only re-initialised per message. Keyed by the text the
/// caller keys with (a standard secret is looked up before its base64 is decoded), in two
/// tables since the two schemes key the same text differently. Bounded: past max_keys the
/// tables start over, which costs a key schedule per key once, never a wrong signature.
/// Per thread, so that signing needs no lock.
class hmac_keys {
 public:
  enum class scheme { standard, chift };

  hmac_keys() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {
    if (!mac_) throw std::runtime_error("OpenSSL has no HMAC");
  }

  /// The context for `text`, keyed with key_of(text) the first time, ready for updates.
  template <class KeyOf>
  EVP_MAC_CTX* start(scheme s, std::string_view text, KeyOf key_of) {
    auto& table = tables_[static_cast<std::size_t>(s)];
    auto it = table.find(text);
    if (it == table.end()) {
      if (table.size() >= max_keys) table.clear();
      it = table.emplace(std::string(text), keyed(key_of(text))).first;
      return it->second.get();  // freshly keyed: already initialised
    }
    // A null key re-initialises with the key already set (EVP_MAC_init(3)).
    if (EVP_MAC_init(it->second.get(), nullptr, 0, nullptr) != 1) {
      throw std::runtime_error("HMAC re-initialisation failed");
    }
    return it->second.get();
  }

 private:
  static constexpr std::size_t max_keys = 1024;

  mac_ctx keyed(std::string_view key) {
    mac_ctx ctx(EVP_MAC_CTX_new(mac_.get()));
    char sha256[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0),
                                 OSSL_PARAM_END};
    // OpenSSL reads a null key pointer as "no key set" and fails; an empty key still needs
    // a real pointer.
    static const unsigned char empty = 0;
    if (!ctx || EVP_MAC_init(ctx.get(), key.empty() ? &empty : openssl_bytes(key), key.size(),
                             params) != 1) {
      throw std::runtime_error("HMAC key setup failed");
    }
    return ctx;
  }

  std::unique_ptr<EVP_MAC, mac_free> mac_;
  std::array<std::unordered_map<std::string, mac_ctx, transparent_hash, std::equal_to<>>, 2>
      tables_;
};

hmac_keys& keys() {
  thread_local hmac_keys cache;
  return cache;
}

void update(EVP_MAC_CTX* ctx, std::string_view data) {
  if (!data.empty() && EVP_MAC_update(ctx, openssl_bytes(data), data.size()) != 1) {
    throw std::runtime_error("HMAC update failed");
  }
}

digest finish_mac(EVP_MAC_CTX* ctx) {
  digest out{};
  std::size_t length = 0;
  if (EVP_MAC_final(ctx, out.data(), &length, out.size()) != 1 || length != out.size()) {
    throw std::runtime_error("HMAC final failed");
  }
  return out;
}

std::string_view as_view(const digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

/// Appends the base64 of a digest (44 characters) without a temporary string.
void append_base64(std::string& out, const digest& d) {
  std::array<unsigned char, 4 * ((std::tuple_size_v<digest> + 2) / 3) + 1> text{};
  const int n = EVP_EncodeBlock(text.data(), d.data(), static_cast<int>(d.size()));
  out.append(reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n));
}

/// Appends one "v1,<base64>" signature.
void append_standard_signature(std::string& out, std::string_view secret, std::string_view msg_id,
                               std::int64_t timestamp, std::string_view body) {
  // Secrets are validated when an endpoint is written, so a malformed one is a bug; keying
  // with its raw bytes still yields a deterministic (unverifiable) signature, not a crash.
  EVP_MAC_CTX* ctx = keys().start(hmac_keys::scheme::standard, secret, [](std::string_view text) {
    return decode_secret(text).value_or(std::string(text));
  });
  // "<id>.<timestamp>.<body>" fed in pieces: the body is not copied.
  std::array<char, 24> number{};
  const auto [end, ec] = std::to_chars(number.data(), number.data() + number.size(), timestamp);
  (void)ec;  // 24 characters hold any int64
  update(ctx, msg_id);
  update(ctx, ".");
  update(ctx, {number.data(), static_cast<std::size_t>(end - number.data())});
  update(ctx, ".");
  update(ctx, body);
  out += "v1,";
  append_base64(out, finish_mac(ctx));
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), openssl_bytes(bytes),
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
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), openssl_bytes(padded),
                                static_cast<int>(padded.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad_to) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad_to);
  return out;
}

namespace {

/// The first `hex_digits` lowercase hex digits of `bytes` (all of them at most).
void append_hex(std::string& out, std::string_view bytes, std::size_t hex_digits) {
  static constexpr char digits[] = "0123456789abcdef";
  hex_digits = std::min(hex_digits, 2 * bytes.size());
  for (std::size_t i = 0; i < hex_digits; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i / 2]);
    out += digits[i % 2 == 0 ? b >> 4 : b & 0x0f];
  }
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  append_hex(out, bytes, bytes.size() * 2);
  return out;
}

void append_sha256_hex(std::string& out, std::initializer_list<std::string_view> parts,
                       std::size_t hex_digits) {
  // Fetched once: EVP_sha256() in a one-shot call fetches the algorithm every time.
  thread_local const std::unique_ptr<EVP_MD, mac_free> sha256(
      EVP_MD_fetch(nullptr, "SHA256", nullptr));
  thread_local const std::unique_ptr<EVP_MD_CTX, mac_free> ctx(EVP_MD_CTX_new());
  digest d{};
  unsigned int length = 0;
  bool ok = sha256 && ctx && EVP_DigestInit_ex(ctx.get(), sha256.get(), nullptr) == 1;
  for (const std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  if (!ok || EVP_DigestFinal_ex(ctx.get(), d.data(), &length) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  append_hex(out, as_view(d), hex_digits);
}

std::string sha256_hex(std::string_view data) {
  std::string out;
  out.reserve(64);
  append_sha256_hex(out, {data});
  return out;
}

std::optional<std::string> decode_secret(std::string_view secret) {
  if (!secret.starts_with(secret_prefix)) return std::nullopt;
  auto key = base64_decode(secret.substr(secret_prefix.size()));
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string standard_signature(std::string_view secret, std::string_view msg_id,
                               std::int64_t timestamp, std::string_view body) {
  std::string out;
  out.reserve(47);
  append_standard_signature(out, secret, msg_id, timestamp, body);
  return out;
}

std::string standard_signature_header(std::span<const std::string_view> secrets,
                                      std::string_view msg_id, std::int64_t timestamp,
                                      std::string_view body) {
  std::string out;
  out.reserve(48 * secrets.size());
  for (const std::string_view secret : secrets) {
    if (!out.empty()) out += ' ';
    append_standard_signature(out, secret, msg_id, timestamp, body);
  }
  return out;
}

std::string chift_signature(std::string_view secret, std::string_view body) {
  EVP_MAC_CTX* ctx = keys().start(hmac_keys::scheme::chift, secret,
                                  [](std::string_view text) { return std::string(text); });
  update(ctx, body);
  return hex_encode(as_view(finish_mac(ctx)));
}

}  // namespace dispatcher::signing
