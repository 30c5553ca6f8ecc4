// Fuzz target: the admin API's filter parsers. The input is read two ways: as a query
// (lines of name=value) for history::parse_delivery_filter, and as a JSON body for
// replay::parse_bulk_retry and parse_recover. Also the list cursor and the time parser
// they use: a cursor the API hands out must decode to itself.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "dispatcher/common/time.hpp"
#include "dispatcher/history/filter.hpp"
#include "dispatcher/replay/request.hpp"
#include "tests/fuzz/check.hpp"

namespace {

using namespace dispatcher;

std::map<std::string, std::string> as_params(std::string_view text) {
  std::map<std::string, std::string> params;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    const auto eq = line.find('=');
    params.emplace(std::string(line.substr(0, eq)),
                   eq == std::string_view::npos ? std::string() : std::string(line.substr(eq + 1)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return params;
}

void check_filter(const history::delivery_filter& f) {
  FUZZ_CHECK(f.limit >= 1 && f.limit <= 500, "limit outside 1..500");
  (void)history::index_key(redis::keyspace("lifecycle:events"), f);
  if (f.after) {
    const auto again = history::decode_cursor(history::encode_cursor(*f.after));
    FUZZ_CHECK(again && again->score == f.after->score && again->id == f.after->id,
               "cursor does not decode to itself");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto parsed = history::parse_delivery_filter(as_params(text));
  if (const auto* f = std::get_if<history::delivery_filter>(&parsed)) check_filter(*f);

  if (const auto c = history::decode_cursor(text)) {
    const auto again = history::decode_cursor(history::encode_cursor(*c));
    FUZZ_CHECK(again && again->score == c->score && again->id == c->id,
               "cursor does not decode to itself");
  }
  if (const auto ms = parse_time(text)) (void)format_rfc3339(*ms);

  const auto body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  const auto bulk = replay::parse_bulk_retry(body);
  if (const auto* b = std::get_if<replay::bulk_request>(&bulk)) check_filter(b->filter);
  const auto recover = replay::parse_recover(body, "ep_fuzz");
  if (const auto* r = std::get_if<replay::bulk_request>(&recover)) {
    check_filter(r->filter);
    FUZZ_CHECK(
        r->filter.endpoint_id == "ep_fuzz" && r->filter.status == history::delivery_status::failed,
        "recover widened beyond the endpoint's failed deliveries");
  }
  return 0;
}
