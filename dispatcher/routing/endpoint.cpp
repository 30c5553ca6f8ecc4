// Endpoint validation and its two JSON forms. Validation is strict (unknown fields and wrong
// types are refused, naming the field) because an endpoint is long-lived configuration: a
// typo silently ignored today is a webhook silently not sent next month. The storage form
// is read back tolerantly (missing optional members take defaults) so that records written
// by an older version still load.
//
// Validation is linear in the body: the size limits are checked before any item is looked
// at, and duplicates are found with hash sets, because this runs on the thread that also
// serves every other request and feeds every webhook.
#include "dispatcher/routing/endpoint.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

#include "dispatcher/common/ascii.hpp"
#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/json.hpp"
#include "dispatcher/common/random.hpp"
#include "dispatcher/common/target.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/signing/secret_box.hpp"
#include "dispatcher/signing/signature.hpp"

namespace dispatcher::routing {

namespace {

using json = nlohmann::json;

constexpr std::size_t max_description_chars = 1024;
constexpr std::size_t min_secret_bytes = 24;
constexpr std::size_t max_secret_bytes = 64;
constexpr std::string_view secret_prefix = "whsec_";

// Headers the dispatcher sets itself or that would change how the request is framed or
// routed; letting an endpoint override them would break signatures or the HTTP exchange.
constexpr std::array<std::string_view, 13> reserved_headers{
    "content-type",      "user-agent", "host", "content-length", "x-chift-signature", "connection",
    "transfer-encoding", "keep-alive", "te",   "trailer",        "upgrade",           "expect",
    "proxy-connection"};

field_error error(std::string field, std::string message) {
  return {std::move(field), std::move(message)};
}

field_error wrong_type(const std::string& field, std::string_view expected) {
  return {field, field + " must be " + std::string(expected)};
}

std::size_t utf8_length(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

// RFC 9110 tchar.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// Field values may hold visible characters, spaces and tabs; CR, LF and NUL would let a
// header value inject further headers.
bool is_header_value(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b == '\t' || (b >= 0x20 && b != 0x7f);
  });
}

bool is_reserved_header(std::string_view name) {
  const std::string lower = ascii_lower(name);
  return lower.starts_with("webhook-") ||
         std::find(reserved_headers.begin(), reserved_headers.end(), lower) !=
             reserved_headers.end();
}

bool is_valid_secret(std::string_view secret) {
  if (!secret.starts_with(secret_prefix)) return false;
  const auto key = signing::decode_secret(secret);
  return key && key->size() >= min_secret_bytes && key->size() <= max_secret_bytes;
}

std::optional<signature_scheme> scheme_from_string(std::string_view text) {
  if (text == "standard") return signature_scheme::standard;
  if (text == "chift") return signature_scheme::chift;
  if (text == "both") return signature_scheme::both;
  return std::nullopt;
}

const char* scheme_name(signature_scheme scheme) {
  switch (scheme) {
    case signature_scheme::standard:
      return "standard";
    case signature_scheme::chift:
      return "chift";
    case signature_scheme::both:
      return "both";
  }
  return "both";
}

std::optional<ordering_mode> ordering_from_string(std::string_view text) {
  if (text == "none") return ordering_mode::none;
  if (text == "connection") return ordering_mode::connection;
  return std::nullopt;
}

const char* ordering_name(ordering_mode mode) {
  return mode == ordering_mode::connection ? "connection" : "none";
}

std::optional<field_error> validate_url(const json& value, const validation_options& options,
                                        std::string& out) {
  if (!value.is_string()) return wrong_type("url", "a string");
  const auto& url = value.get_ref<const std::string&>();
  if (url.size() > max_url_bytes) {
    return error("url", "url must be at most " + std::to_string(max_url_bytes) + " bytes");
  }
  auto parsed = parse_target(url);
  if (auto* message = std::get_if<std::string>(&parsed)) return error("url", *message);
  const auto& target = std::get<dispatcher::target>(parsed);
  if (!options.allow_private_targets && literal_host_is_public(target.host) == false) {
    return error("url", "url host " + target.host +
                            " is a private address; set DISPATCHER_ALLOW_PRIVATE_TARGETS=true "
                            "to allow it");
  }
  out = url;
  return std::nullopt;
}

std::optional<field_error> validate_string_list(const json& value, const char* field,
                                                std::size_t max_items,
                                                bool (*valid)(std::string_view),
                                                std::string_view expected,
                                                std::vector<std::string>& out) {
  if (!value.is_array()) return wrong_type(field, "an array of strings");
  if (value.size() > max_items) {
    return error(field, std::string(field) + " may list at most " + std::to_string(max_items) +
                            " entries; " + std::to_string(value.size()) + " were given");
  }
  std::vector<std::string> items;
  items.reserve(value.size());
  // Views into `value`, which outlives the set.
  std::unordered_set<std::string_view> seen;
  seen.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string() || !valid(value[i].get_ref<const std::string&>())) {
      const std::string path = std::string(field) + "[" + std::to_string(i) + "]";
      return error(path, path + " must be " + std::string(expected));
    }
    const auto& item = value[i].get_ref<const std::string&>();
    // Duplicates would be harmless, but they make the stored filter list misleading.
    if (seen.insert(item).second) items.push_back(item);
  }
  out = std::move(items);
  return std::nullopt;
}

// `out` holds the current headers on entry (empty on create): a sensitive header given as
// "***" keeps its current value.
std::optional<field_error> validate_headers(const json& value,
                                            std::vector<std::pair<std::string, std::string>>& out) {
  if (!value.is_object()) return wrong_type("headers", "an object of string values");
  if (value.size() > max_headers) {
    return error("headers", "headers may have at most " + std::to_string(max_headers) +
                                " entries; " + std::to_string(value.size()) + " were given");
  }
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(value.size());
  std::unordered_set<std::string> seen;  // lower-case names
  seen.reserve(value.size());
  for (const auto& [name, header_value] : value.items()) {
    const std::string path = "headers." + name;
    if (!is_token(name)) {
      return error(path, "header name '" + name + "' must be an HTTP token (letters, digits, " +
                             "and !#$%&'*+-.^_`|~)");
    }
    if (is_reserved_header(name)) {
      return error(path, "header '" + name + "' is set by the dispatcher and cannot be overridden");
    }
    if (!header_value.is_string()) return wrong_type(path, "a string");
    const auto& text = header_value.get_ref<const std::string&>();
    if (!is_header_value(text)) {
      return error(path, path + " must not contain control characters such as CR or LF");
    }
    if (!seen.insert(ascii_lower(name)).second) {
      return error(path, "header '" + name + "' is given twice (names ignore case)");
    }
    if (text == redacted && is_sensitive_header(name)) {
      // An init-capture: clang 14 (the fuzz build) cannot capture a structured binding.
      const auto current = std::find_if(
          out.begin(), out.end(), [&n = name](const auto& h) { return ascii_iequals(h.first, n); });
      if (current != out.end()) {
        headers.emplace_back(name, current->second);
        continue;
      }
    }
    headers.emplace_back(name, text);
  }
  out = std::move(headers);
  return std::nullopt;
}

// Applies the writable fields in `body` to `ep`. `creating` allows "secret".
std::optional<field_error> apply_fields(endpoint& ep, const json& body, bool creating,
                                        const validation_options& options) {
  if (!body.is_object()) return error("body", "the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key == "url") {
      if (auto e = validate_url(value, options, ep.url)) return e;
    } else if (key == "description") {
      if (!value.is_string()) return wrong_type(key, "a string");
      const auto& text = value.get_ref<const std::string&>();
      if (utf8_length(text) > max_description_chars) {
        return error(key, "description must be at most " + std::to_string(max_description_chars) +
                              " characters");
      }
      ep.description = text;
    } else if (key == "events") {
      if (auto e =
              validate_string_list(value, "events", max_event_filters, is_event_filter,
                                   "an event type like account.connection.created or a prefix like "
                                   "account.connection.*",
                                   ep.events)) {
        return e;
      }
    } else if (key == "consumers") {
      if (auto e = validate_string_list(value, "consumers", max_consumers, is_uuid, "a UUID string",
                                        ep.consumers)) {
        return e;
      }
    } else if (key == "signature") {
      const auto scheme = value.is_string()
                              ? scheme_from_string(value.get_ref<const std::string&>())
                              : std::nullopt;
      if (!scheme) return error(key, "signature must be \"standard\", \"chift\" or \"both\"");
      ep.signature = *scheme;
    } else if (key == "secret" && creating) {
      if (!value.is_string() || !is_valid_secret(value.get_ref<const std::string&>())) {
        return error(key, "secret must be whsec_ followed by the base64 of 24 to 64 bytes");
      }
      ep.secret = value.get<std::string>();
    } else if (key == "secret") {
      return error(key, "secret cannot be changed here; use POST /v1/endpoints/{id}/secret/rotate");
    } else if (key == "enabled") {
      if (!value.is_boolean()) return wrong_type(key, "a boolean");
      ep.enabled = value.get<bool>();
      // The reason explained an automatic disable; any explicit change supersedes it.
      ep.disabled_reason.clear();
    } else if (key == "rate_limit") {
      if (value.is_null()) {
        ep.rate_limit.reset();
      } else if (!value.is_number()) {
        return wrong_type(key, "a number or null");
      } else {
        // Any finite rate above 0: 0.5 is one delivery every 2 s. JSON cannot carry NaN or
        // infinity, and a number too large for a double is refused by the parser; the
        // claim script copes with vanishing and huge rates (CONTRACT section 4).
        const double rate = value.get<double>();
        if (!(rate > 0) || !std::isfinite(rate)) {
          return error(key, "rate_limit must be a number of deliveries per second above 0");
        }
        ep.rate_limit = rate;
      }
    } else if (key == "headers") {
      if (auto e = validate_headers(value, ep.headers)) return e;
    } else if (key == "ordering") {
      const auto mode = value.is_string()
                            ? ordering_from_string(value.get_ref<const std::string&>())
                            : std::nullopt;
      if (!mode) return error(key, "ordering must be \"none\" or \"connection\"");
      ep.ordering = *mode;
    } else if (key == "id" || key == "created_at" || key == "updated_at" ||
               key == "disabled_reason" || key == "circuit") {
      return error(key, key + " is assigned by the dispatcher and cannot be set");
    } else {
      return error(key, "unknown field '" + key + "'");
    }
  }
  return std::nullopt;
}

json rate_limit_json(const std::optional<double>& rate) {
  if (!rate) return nullptr;
  // Whole numbers print as 5, not 5.0 (while an int64 holds them exactly).
  if (std::floor(*rate) == *rate && std::abs(*rate) < 9.0e15) {
    return static_cast<std::int64_t>(*rate);
  }
  return *rate;
}

json headers_json(const std::vector<std::pair<std::string, std::string>>& headers) {
  json out = json::object();
  for (const auto& [name, value] : headers) {
    out[name] = is_sensitive_header(name) ? std::string(redacted) : value;
  }
  return out;
}

// The authenticated context of a sealed secret: which endpoint it belongs to.
std::string seal_context(const std::string& endpoint_id) {
  return "dispatcher endpoint secret " + endpoint_id;
}

std::string stored_secret(const std::string& secret, const std::string& endpoint_id,
                          const signing::secret_box* key) {
  if (key == nullptr || signing::is_sealed(secret)) return secret;
  return key->seal(secret, seal_context(endpoint_id));
}

// Opens one stored secret in place; false when it stays sealed (and then says why).
bool open_secret(std::string& secret, const std::string& endpoint_id,
                 const signing::secret_box* key, std::string& why) {
  if (!signing::is_sealed(secret)) return true;
  if (key == nullptr) {
    why = "its secret is stored encrypted but DISPATCHER_ENCRYPTION_KEY is not set";
    return false;
  }
  auto opened = key->open(secret, seal_context(endpoint_id));
  if (!opened) {
    why =
        "its secret cannot be decrypted with the configured DISPATCHER_ENCRYPTION_KEY (another "
        "key, or a damaged value)";
    return false;
  }
  secret = std::move(*opened);
  return true;
}

// Tolerant readers for the storage form: wrong types fail the load, absence takes the default.
template <typename T>
bool read_member(const json& object, const char* key, T& out) {
  const auto it = object.find(key);
  if (it == object.end()) return true;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return false;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return false;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    if (!it->is_number_integer()) return false;
  }
  out = it->get<T>();
  return true;
}

bool read_string_array(const json& object, const char* key, std::vector<std::string>& out) {
  const auto it = object.find(key);
  if (it == object.end()) return true;
  if (!it->is_array()) return false;
  for (const auto& item : *it) {
    if (!item.is_string()) return false;
    out.push_back(item.get<std::string>());
  }
  return true;
}

}  // namespace

std::variant<endpoint, field_error> endpoint_from_create(const nlohmann::json& body,
                                                         const validation_options& options,
                                                         std::int64_t now_ms) {
  endpoint ep;
  if (auto e = apply_fields(ep, body, /*creating=*/true, options)) return *e;
  if (ep.url.empty()) return error("url", "url is required");
  ep.id = generate_endpoint_id();
  if (ep.secret.empty()) ep.secret = generate_secret();
  ep.created_at_ms = now_ms;
  ep.updated_at_ms = now_ms;
  return ep;
}

std::optional<field_error> apply_patch(endpoint& ep, const nlohmann::json& body,
                                       const validation_options& options, std::int64_t now_ms) {
  // Validate into a copy so that a rejected PATCH leaves the endpoint untouched.
  endpoint updated = ep;
  if (auto e = apply_fields(updated, body, /*creating=*/false, options)) return e;
  updated.updated_at_ms = now_ms;
  ep = std::move(updated);
  return std::nullopt;
}

nlohmann::json to_api_json(const endpoint& ep, bool include_secret) {
  json out = {
      {"id", ep.id},
      {"url", ep.url},
      {"description", ep.description},
      {"events", ep.events},
      {"consumers", ep.consumers},
      {"signature", scheme_name(ep.signature)},
      {"enabled", ep.enabled},
      {"disabled_reason", ep.disabled_reason.empty() ? json(nullptr) : json(ep.disabled_reason)},
      {"rate_limit", rate_limit_json(ep.rate_limit)},
      {"ordering", ordering_name(ep.ordering)},
      {"circuit", to_string(ep.circuit)},
      {"headers", headers_json(ep.headers)},
      {"created_at", format_rfc3339(ep.created_at_ms)},
      {"updated_at", format_rfc3339(ep.updated_at_ms)},
  };
  if (include_secret && ep.secret_error.empty()) out["secret"] = ep.secret;
  if (!ep.secret_error.empty()) {
    out["secret_error"] = ep.secret_error + "; it receives no deliveries until that is fixed";
  }
  return out;
}

std::string_view to_string(circuit_state c) {
  switch (c) {
    case circuit_state::open:
      return "open";
    case circuit_state::half_open:
      return "half_open";
    case circuit_state::closed:
      break;
  }
  return "closed";
}

bool is_sensitive_header(std::string_view name) {
  static constexpr std::array<std::string_view, 5> words{"authorization", "cookie", "token",
                                                         "secret", "key"};
  const std::string lower = ascii_lower(name);
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view word) { return lower.find(word) != std::string::npos; });
}

std::string to_storage(const endpoint& ep, const signing::secret_box* key) {
  json retired = json::array();
  for (const auto& r : ep.retired_secrets) {
    retired.push_back(
        {{"secret", stored_secret(r.secret, ep.id, key)}, {"expires_at_ms", r.expires_at_ms}});
  }
  // Headers as [name, value] pairs: an object would not keep their order.
  json headers = json::array();
  for (const auto& [name, value] : ep.headers) headers.push_back({name, value});
  const json out = {
      {"id", ep.id},
      {"url", ep.url},
      {"description", ep.description},
      {"events", ep.events},
      {"consumers", ep.consumers},
      {"signature", scheme_name(ep.signature)},
      {"secret", stored_secret(ep.secret, ep.id, key)},
      {"retired_secrets", std::move(retired)},
      {"enabled", ep.enabled},
      {"disabled_reason", ep.disabled_reason},
      {"rate_limit", ep.rate_limit ? json(*ep.rate_limit) : json(nullptr)},
      {"ordering", ordering_name(ep.ordering)},
      {"headers", std::move(headers)},
      {"created_at_ms", ep.created_at_ms},
      {"updated_at_ms", ep.updated_at_ms},
  };
  // Replace rather than throw on bytes that are not UTF-8 (validation keeps them out anyway).
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<endpoint> from_storage(std::string_view stored, const signing::secret_box* key) {
  // Anyone with access to Redis may have written it: no depth or repeated key it allows.
  auto parsed = parse_untrusted_json(stored);
  auto* document = std::get_if<json>(&parsed);
  if (!document || !document->is_object()) return std::nullopt;
  const json& doc = *document;

  endpoint ep;
  if (!read_member(doc, "id", ep.id) || !read_member(doc, "url", ep.url) ||
      !read_member(doc, "description", ep.description) || !read_member(doc, "secret", ep.secret) ||
      !read_member(doc, "enabled", ep.enabled) ||
      !read_member(doc, "disabled_reason", ep.disabled_reason) ||
      !read_member(doc, "created_at_ms", ep.created_at_ms) ||
      !read_member(doc, "updated_at_ms", ep.updated_at_ms) ||
      !read_string_array(doc, "events", ep.events) ||
      !read_string_array(doc, "consumers", ep.consumers)) {
    return std::nullopt;
  }
  if (ep.id.empty() || ep.url.empty() || ep.secret.empty()) return std::nullopt;

  if (const auto it = doc.find("signature"); it != doc.end()) {
    const auto scheme =
        it->is_string() ? scheme_from_string(it->get_ref<const std::string&>()) : std::nullopt;
    if (!scheme) return std::nullopt;
    ep.signature = *scheme;
  }
  if (const auto it = doc.find("rate_limit"); it != doc.end() && !it->is_null()) {
    if (!it->is_number()) return std::nullopt;
    ep.rate_limit = it->get<double>();
  }
  if (const auto it = doc.find("ordering"); it != doc.end()) {
    // Absent in records written before ordering existed: none.
    const auto mode =
        it->is_string() ? ordering_from_string(it->get_ref<const std::string&>()) : std::nullopt;
    if (!mode) return std::nullopt;
    ep.ordering = *mode;
  }
  if (const auto it = doc.find("retired_secrets"); it != doc.end()) {
    if (!it->is_array()) return std::nullopt;
    for (const auto& item : *it) {
      retired_secret r;
      if (!item.is_object() || !read_member(item, "secret", r.secret) ||
          !read_member(item, "expires_at_ms", r.expires_at_ms) || r.secret.empty()) {
        return std::nullopt;
      }
      ep.retired_secrets.push_back(std::move(r));
    }
  }
  if (const auto it = doc.find("headers"); it != doc.end()) {
    if (!it->is_array()) return std::nullopt;
    for (const auto& pair : *it) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
        return std::nullopt;
      }
      ep.headers.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
  }
  open_secret(ep.secret, ep.id, key, ep.secret_error);
  for (auto& r : ep.retired_secrets) open_secret(r.secret, ep.id, key, ep.secret_error);
  return ep;
}

void rotate_secret(endpoint& ep, std::int64_t now_ms, std::int64_t grace_ms) {
  // A secret that cannot be opened cannot sign during a grace period either: drop it.
  std::erase_if(ep.retired_secrets, [now_ms](const retired_secret& r) {
    return r.expires_at_ms <= now_ms || signing::is_sealed(r.secret);
  });
  if (grace_ms > 0 && !signing::is_sealed(ep.secret)) {
    ep.retired_secrets.push_back({ep.secret, now_ms + grace_ms});
  }
  ep.secret = generate_secret();
  ep.secret_error.clear();
  ep.updated_at_ms = now_ms;
}

std::string generate_secret() {
  std::array<unsigned char, 32> key{};
  random_bytes(key);
  return std::string(secret_prefix) +
         signing::base64_encode({reinterpret_cast<const char*>(key.data()), key.size()});
}

std::string generate_endpoint_id() {
  return "ep_" + random_id(24);
}

bool matches(const endpoint& ep, std::string_view event_type, std::string_view consumerid) {
  const bool type_ok =
      ep.events.empty() ||
      std::any_of(ep.events.begin(), ep.events.end(), [&](const std::string& filter) {
        return event_filter_matches(filter, event_type);
      });
  if (!type_ok) return false;
  return ep.consumers.empty() ||
         std::any_of(ep.consumers.begin(), ep.consumers.end(), [&](const std::string& consumer) {
           return ascii_iequals(consumer, consumerid);
         });
}

std::vector<std::string_view> signing_secrets(const endpoint& ep, std::int64_t now_ms) {
  std::vector<std::string_view> out{ep.secret};
  for (const auto& retired : ep.retired_secrets) {
    if (retired.expires_at_ms > now_ms) out.push_back(retired.secret);
  }
  return out;
}

const std::string& chift_signing_secret(const endpoint& ep, std::int64_t now_ms) {
  const retired_secret* oldest = nullptr;
  for (const auto& retired : ep.retired_secrets) {
    if (retired.expires_at_ms > now_ms &&
        (oldest == nullptr || retired.expires_at_ms < oldest->expires_at_ms)) {
      oldest = &retired;
    }
  }
  return oldest ? oldest->secret : ep.secret;
}

}  // namespace dispatcher::routing
