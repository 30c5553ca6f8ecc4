// Receiver-side verification over the signing functions of signature.cpp, so the two sides
// cannot drift: a change of how we sign that breaks receivers fails here first.
#include "dispatcher/signing/verify.hpp"

#include <openssl/crypto.h>

#include <cctype>
#include <charconv>

#include "dispatcher/signing/signature.hpp"

namespace dispatcher::signing {

namespace {

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

verification verify_standard(std::string_view secret, std::string_view id,
                             std::string_view timestamp, std::string_view signature_header,
                             std::string_view body, std::int64_t now_s,
                             std::chrono::seconds tolerance) {
  if (id.empty()) return {"no webhook-id header"};
  if (timestamp.empty()) return {"no webhook-timestamp header"};
  if (signature_header.empty()) return {"no webhook-signature header"};
  if (!decode_secret(secret)) return {"the secret is not of the form whsec_<base64>"};
  std::int64_t ts = 0;
  const auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size()) {
    return {"webhook-timestamp is not a number of seconds"};
  }
  if (ts < now_s - tolerance.count()) return {"webhook-timestamp is too old"};
  if (ts > now_s + tolerance.count()) return {"webhook-timestamp is in the future"};

  const std::string expected = standard_signature(secret, id, ts, body);
  std::string_view rest = signature_header;
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    const std::string_view one = rest.substr(0, space);
    // Other versions (v1a, ...) are skipped, as the specification asks.
    if (equal_constant_time(one, expected)) return {};
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  return {"no signature matches"};
}

verification verify_chift(std::string_view secret, std::string_view signature,
                          std::string_view body) {
  if (signature.empty()) return {"no x-chift-signature header"};
  std::string lower(signature);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!equal_constant_time(lower, chift_signature(secret, body))) {
    return {"x-chift-signature does not match"};
  }
  return {};
}

}  // namespace dispatcher::signing
