// AES-256-GCM through EVP. GCM because it authenticates: a damaged or swapped value fails
// to open instead of yielding a wrong secret that would sign webhooks receivers reject.
// A random 96-bit nonce per value is safe far beyond the number of secrets a dispatcher
// ever writes (the NIST bound for random nonces is 2^32 messages per key).
#include "dispatcher/signing/secret_box.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "dispatcher/signing/signature.hpp"

namespace dispatcher::signing {

namespace {

constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;

struct ctx_free {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_free>;

}  // namespace

bool is_sealed(std::string_view value) {
  return value.starts_with(sealed_prefix);
}

std::optional<secret_box> secret_box::from_base64(std::string_view text) {
  auto decoded = base64_decode(text);
  if (!decoded || decoded->size() != key_bytes) {
    if (decoded) OPENSSL_cleanse(decoded->data(), decoded->size());
    return std::nullopt;
  }
  std::array<unsigned char, key_bytes> key{};
  std::copy(decoded->begin(), decoded->end(), key.begin());
  OPENSSL_cleanse(decoded->data(), decoded->size());
  secret_box box(key);
  OPENSSL_cleanse(key.data(), key.size());
  return box;
}

secret_box::~secret_box() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

std::string secret_box::seal(std::string_view plaintext, std::string_view context) const {
  std::string raw(nonce_bytes + plaintext.size() + tag_bytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(raw.data());
  auto* out = nonce + nonce_bytes;
  if (RAND_bytes(nonce, static_cast<int>(nonce_bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed: no secure randomness for an encryption nonce");
  }
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  int total = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, openssl_bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out, &n, openssl_bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      (total = n, EVP_EncryptFinal_ex(ctx.get(), out + total, &n) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                          out + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed inside OpenSSL");
  std::string sealed = std::string(sealed_prefix) + base64_encode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return sealed;
}

std::optional<std::string> secret_box::open(std::string_view sealed,
                                            std::string_view context) const {
  if (!is_sealed(sealed)) return std::nullopt;
  const auto raw = base64_decode(sealed.substr(sealed_prefix.size()));
  if (!raw || raw->size() < nonce_bytes + tag_bytes) return std::nullopt;
  const auto* nonce = openssl_bytes(*raw);
  const std::size_t length = raw->size() - nonce_bytes - tag_bytes;
  const auto* ciphertext = nonce + nonce_bytes;
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer although it only reads the tag.
  std::array<unsigned char, tag_bytes> tag{};
  std::copy(ciphertext + length, ciphertext + length + tag_bytes, tag.begin());

  std::string plaintext(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  cipher_ctx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, openssl_bytes(context),
                        static_cast<int>(context.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &n, ciphertext, static_cast<int>(length)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                          tag.data()) == 1 &&
      // Final checks the tag: nothing decrypted is trusted before it passes.
      EVP_DecryptFinal_ex(ctx.get(), out + n, &n) == 1;
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return std::nullopt;
  }
  return plaintext;
}

}  // namespace dispatcher::signing
