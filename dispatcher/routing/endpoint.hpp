// A subscriber endpoint: where webhooks go, which events it wants, how they are signed.
// This file owns the endpoint's JSON forms (API and storage) and its validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace dispatcher::signing {
class secret_box;
}

namespace dispatcher::routing {

/// CONTRACT section 4: larger bodies are refused with 422 naming the field. They bound the
/// work of validating, storing and matching an endpoint, which runs on the shared thread.
inline constexpr std::size_t max_event_filters = 100;
inline constexpr std::size_t max_consumers = 1000;
inline constexpr std::size_t max_headers = 20;
inline constexpr std::size_t max_url_bytes = 2048;

/// What API responses show instead of a sensitive header's value.
inline constexpr std::string_view redacted = "***";

enum class signature_scheme { standard, chift, both };

/// CONTRACT section 9: `connection` attempts the deliveries that share a connectionid one
/// at a time, in stream order.
enum class ordering_mode { none, connection };

/// The circuit breaker's state (retry/circuit.hpp), kept in the endpoint's Redis hash by
/// the scripts; shown as `circuit` and never written from the API.
enum class circuit_state { closed, open, half_open };
std::string_view to_string(circuit_state c);

/// A rotated-out secret that keeps signing until expires_at_ms (unix ms).
struct retired_secret {
  std::string secret;
  std::int64_t expires_at_ms = 0;
};

struct endpoint {
  std::string id;  // ep_<random>
  std::string url;
  std::string description;
  std::vector<std::string> events;     // exact types or "prefix.*"; empty = all
  std::vector<std::string> consumers;  // consumer ids; empty = all
  signature_scheme signature = signature_scheme::both;
  std::string secret;  // whsec_<base64>
  std::vector<retired_secret> retired_secrets;
  bool enabled = true;
  std::string disabled_reason;
  std::optional<double> rate_limit;  // deliveries per second
  ordering_mode ordering = ordering_mode::none;
  circuit_state circuit = circuit_state::closed;  // read from the hash, not stored in json
  std::vector<std::pair<std::string, std::string>> headers;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  /// Set by from_storage when a stored secret is sealed and cannot be opened (no key, or
  /// another key); the unopened values stay in `secret` / `retired_secrets` as stored, so
  /// writing the endpoint back keeps them. Such an endpoint must not sign anything.
  std::string secret_error;
};

/// A rejected API body: the JSON path of the bad field and a sentence saying what is wrong.
struct field_error {
  std::string field;
  std::string message;
};

struct validation_options {
  bool allow_private_targets = false;
};

/// Builds an endpoint from a POST /v1/endpoints body; id, secret (when absent) and
/// timestamps are filled in. Unknown fields are rejected.
std::variant<endpoint, field_error> endpoint_from_create(const nlohmann::json& body,
                                                         const validation_options& options,
                                                         std::int64_t now_ms);

/// Applies a PATCH body (any subset of the writable fields, "secret" excluded). A sensitive
/// header given as "***" (what GET shows) keeps its current value, so a GET-edit-PATCH
/// round trip does not overwrite a credential with the mask.
std::optional<field_error> apply_patch(endpoint& ep, const nlohmann::json& body,
                                       const validation_options& options, std::int64_t now_ms);

/// The API representation; the secret only when include_secret (create and rotate).
/// Sensitive header values are shown as "***"; `secret_error` appears when set.
nlohmann::json to_api_json(const endpoint& ep, bool include_secret);

/// True when a header's value is a credential: its name contains authorization, cookie,
/// token, secret or key, in any case.
bool is_sensitive_header(std::string_view name);

/// Everything, for Redis. With a key, the current and retired secrets are sealed (bound to
/// the endpoint id); without one they are stored as they are. Values that are already
/// sealed (unopened ones, see endpoint::secret_error) are written back unchanged.
std::string to_storage(const endpoint& ep, const signing::secret_box* key = nullptr);
/// nullopt when the record is damaged. Sealed secrets are opened with the key; one that
/// cannot be opened sets secret_error instead of failing the load, so the API can still
/// show, change or delete the endpoint. Plaintext secrets load with or without a key.
std::optional<endpoint> from_storage(std::string_view stored,
                                     const signing::secret_box* key = nullptr);

/// A rotation: a new secret; the current one keeps signing for `grace_ms` (none when 0, or
/// when it could not be opened), and retired secrets that expired or cannot be opened go.
void rotate_secret(endpoint& ep, std::int64_t now_ms, std::int64_t grace_ms);

/// "whsec_" + base64 of 32 random bytes.
std::string generate_secret();
/// "ep_" + 24 random lowercase alphanumerics.
std::string generate_endpoint_id();

/// True when the endpoint wants this event: type filter (exact or "prefix.*") and
/// consumer filter both pass. Ignores `enabled`.
bool matches(const endpoint& ep, std::string_view event_type, std::string_view consumerid);

/// The secrets that sign right now: the current one first, then unexpired retired ones.
/// Views of ep's (valid while it is): an attempt signs with them, and copies cost an
/// allocation per secret per delivery.
std::vector<std::string_view> signing_secrets(const endpoint& ep, std::int64_t now_ms);

/// The secret x-chift-signature is keyed with right now. One value cannot carry two
/// signatures, so during a rotation's grace period it is the oldest secret still in its
/// grace (the one a receiver that has not switched yet holds); receivers switch when that
/// grace ends (CONTRACT §2). Outside any grace period it is the current secret.
const std::string& chift_signing_secret(const endpoint& ep, std::int64_t now_ms);

}  // namespace dispatcher::routing
