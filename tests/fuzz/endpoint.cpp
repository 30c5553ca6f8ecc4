// Fuzz target: endpoint JSON (routing/endpoint). The input is one JSON document used three
// ways: as a POST /v1/endpoints body (endpoint_from_create), as a PATCH body on a valid
// endpoint (apply_patch), and as a stored endpoint read back from Redis (from_storage).
// Whatever is accepted must serialise for the API, survive the storage round trip
// unchanged, and a refused PATCH must leave the endpoint as it was.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "dispatcher/routing/endpoint.hpp"
#include "tests/fuzz/check.hpp"

namespace {

using namespace dispatcher::routing;
using json = nlohmann::json;

constexpr std::int64_t now_ms = 1'800'000'000'000;

bool same(const endpoint& a, const endpoint& b) {
  if (a.retired_secrets.size() != b.retired_secrets.size()) return false;
  for (std::size_t i = 0; i < a.retired_secrets.size(); ++i) {
    if (a.retired_secrets[i].secret != b.retired_secrets[i].secret ||
        a.retired_secrets[i].expires_at_ms != b.retired_secrets[i].expires_at_ms) {
      return false;
    }
  }
  return a.id == b.id && a.url == b.url && a.description == b.description && a.events == b.events &&
         a.consumers == b.consumers && a.signature == b.signature && a.secret == b.secret &&
         a.enabled == b.enabled && a.disabled_reason == b.disabled_reason &&
         a.rate_limit == b.rate_limit && a.headers == b.headers &&
         a.created_at_ms == b.created_at_ms && a.updated_at_ms == b.updated_at_ms;
}

// What every endpoint we hold must allow: the API answer (strict dump, as responses are
// written) and a lossless trip through Redis.
void check_usable(const endpoint& ep) {
  (void)to_api_json(ep, /*include_secret=*/true).dump();
  (void)to_api_json(ep, /*include_secret=*/false).dump();
  const auto back = from_storage(to_storage(ep));
  FUZZ_CHECK(back.has_value(), "a stored endpoint does not load");
  FUZZ_CHECK(same(*back, ep), "the storage round trip changes the endpoint");
  (void)matches(ep, "account.connection.created", "0b7e3c3a-7f6e-4f43-9b53-2a4f1c6f7c11");
  (void)signing_secrets(ep, now_ms);
}

// CONTRACT section 4's limits hold for whatever the API accepts (stored records are not
// held to them: they may come from another version).
void check_limits(const endpoint& ep) {
  FUZZ_CHECK(ep.events.size() <= 100 && ep.consumers.size() <= 1000 && ep.headers.size() <= 20 &&
                 ep.url.size() <= 2048,
             "an accepted endpoint over the limits of CONTRACT section 4");
}

endpoint valid_endpoint() {
  const json body = {{"url", "https://hooks.example.com/in"},
                     {"events", {"account.connection.*"}},
                     {"headers", {{"x-team", "core"}}},
                     {"rate_limit", 5}};
  auto created = endpoint_from_create(body, {}, now_ms - 1000);
  FUZZ_CHECK(std::holds_alternative<endpoint>(created), "the fixed endpoint is refused");
  return std::get<endpoint>(std::move(created));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto stored = from_storage(text)) check_usable(*stored);

  const auto body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;

  for (const bool allow_private : {false, true}) {
    const validation_options options{allow_private};
    const auto created = endpoint_from_create(body, options, now_ms);
    if (const auto* ep = std::get_if<endpoint>(&created)) {
      FUZZ_CHECK(ep->id.starts_with("ep_") && ep->secret.starts_with("whsec_"),
                 "created endpoint without id or secret");
      FUZZ_CHECK(!ep->rate_limit || *ep->rate_limit > 0, "rate_limit not above 0");
      check_limits(*ep);
      check_usable(*ep);
    } else {
      // The field may be "" itself ({"": 1} is an unknown field of that name).
      FUZZ_CHECK(!std::get<field_error>(created).message.empty(), "a refusal says nothing");
    }

    static const endpoint before = valid_endpoint();
    endpoint patched = before;
    if (const auto error = apply_patch(patched, body, options, now_ms)) {
      FUZZ_CHECK(same(patched, before), "a refused PATCH changed the endpoint");
    } else {
      FUZZ_CHECK(patched.id == before.id && patched.secret == before.secret,
                 "a PATCH changed the id or the secret");
      check_limits(patched);
      check_usable(patched);
    }
  }
  return 0;
}
