// Checking a received webhook, the receiver's side of signature.hpp: what `dispatcher
// listen` runs on each request, and what a receiver written in C++ would. Standard
// Webhooks rules: the webhook-timestamp within a tolerance of now (replays of an old
// request fail), and at least one "v1,<sig>" of the space-separated webhook-signature equal
// to the one computed, compared in constant time. Pure functions; the clock is an argument.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace dispatcher::signing {

/// Why a webhook failed verification; empty `reason` when it passed.
struct verification {
  std::string reason;
  bool ok() const noexcept { return reason.empty(); }
};

/// The Standard Webhooks default: five minutes either way.
inline constexpr std::chrono::seconds default_tolerance{300};

/// Verifies the Standard Webhooks headers (webhook-id, webhook-timestamp,
/// webhook-signature, as received) against `body` with `secret` ("whsec_...").
verification verify_standard(std::string_view secret, std::string_view id,
                             std::string_view timestamp, std::string_view signature_header,
                             std::string_view body, std::int64_t now_s,
                             std::chrono::seconds tolerance = default_tolerance);

/// Verifies an x-chift-signature header (hex HMAC-SHA256 of the body, keyed with the
/// secret string's bytes), case-insensitively.
verification verify_chift(std::string_view secret, std::string_view signature,
                          std::string_view body);

}  // namespace dispatcher::signing
