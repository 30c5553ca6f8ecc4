// Fuzz target: stream payload validation (ingest::parse_event, CONTRACT section 1).
// Any bytes may arrive on the stream; validation must answer event or error, never crash,
// and an accepted event must be one that validates again to the same event (the body we
// sign and send is what a receiver or a dead-letter retry would see). The validator's verdict
// on the JSON itself is compared with the document parser's (parse_untrusted_json).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/json.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/ingest/event.hpp"
#include "tests/fuzz/check.hpp"

namespace {

constexpr std::size_t max_payload = 256 * 1024;  // DISPATCHER_MAX_PAYLOAD's default

// An oracle apart from the validator's own parser: nlohmann's SAX walk, noting the deepest
// nesting and whether any object repeats a key. An accepted body must have neither.
struct shape_oracle {
  using json = nlohmann::json;
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool repeated_key = false;
  std::vector<std::set<std::string>> keys;  // one set per open container; arrays' stay empty

  bool open() {
    deepest = std::max(deepest, ++depth);
    keys.emplace_back();
    return true;
  }
  bool close() {
    --depth;
    keys.pop_back();
    return true;
  }
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return open(); }
  bool key(json::string_t& k) {
    if (!keys.back().insert(k).second) repeated_key = true;
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using dispatcher::ingest::event;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const auto result = dispatcher::ingest::parse_event(payload, "1700000000000-0", max_payload);
  const auto* ev = std::get_if<event>(&result);

  // The validator scans without building a document; on the JSON itself its verdict and
  // message must be the document parser's.
  if (!payload.empty() && payload.size() <= max_payload && !payload.starts_with("\xEF\xBB\xBF")) {
    const auto doc = dispatcher::parse_untrusted_json(payload);
    if (const auto* problem = std::get_if<dispatcher::json_problem>(&doc)) {
      FUZZ_CHECK(ev == nullptr && std::get<1>(result).message == "payload " + problem->message,
                 "a text the document parser refuses is not refused with its message");
    } else if (ev == nullptr) {
      const std::string& message = std::get<1>(result).message;
      FUZZ_CHECK(!message.starts_with("payload ") ||
                     (message.starts_with("payload must be a JSON object") &&
                      !std::get<nlohmann::json>(doc).is_object()),
                 "a text the document parser accepts is refused as JSON");
    }
  }

  if (ev == nullptr) {
    FUZZ_CHECK(!std::get<1>(result).message.empty(), "a refusal says why");
    return 0;
  }

  FUZZ_CHECK(payload.size() <= max_payload, "oversized payload accepted");
  FUZZ_CHECK(dispatcher::is_event_type(ev->type), "event type outside its grammar");
  FUZZ_CHECK(dispatcher::is_uuid(ev->accountid), "accountid not a UUID");
  FUZZ_CHECK(dispatcher::is_uuid(ev->consumerid), "consumerid not a UUID");
  FUZZ_CHECK(ev->connectionid.empty() || dispatcher::is_uuid(ev->connectionid),
             "connectionid not a UUID");
  FUZZ_CHECK(ev->status.empty() || ev->status == "active" || ev->status == "inactive",
             "status outside active/inactive");
  FUZZ_CHECK(ev->created >= 0 && ev->created <= dispatcher::max_rfc3339_seconds,
             "created outside 0..253402300799");
  shape_oracle shape;
  FUZZ_CHECK(nlohmann::json::sax_parse(ev->body, &shape), "an accepted body is not JSON");
  FUZZ_CHECK(shape.deepest <= 64, "an accepted body is nested deeper than 64 levels");
  FUZZ_CHECK(!shape.repeated_key, "an accepted body repeats a key in one object");
  FUZZ_CHECK(!ev->id.empty() && ev->id.size() <= 128 + 4 + 15, "event id empty or too long");

  // The body carries the id, and validates again to the same event (the body may exceed
  // the limit by the spliced-in id, so the second pass allows for it).
  const auto again = dispatcher::ingest::parse_event(ev->body, "0-0", max_payload + 256);
  const auto* ev2 = std::get_if<event>(&again);
  FUZZ_CHECK(ev2 != nullptr, "the body of an accepted event is refused");
  FUZZ_CHECK(ev2->id == ev->id && ev2->type == ev->type && ev2->accountid == ev->accountid &&
                 ev2->consumerid == ev->consumerid && ev2->connectionid == ev->connectionid &&
                 ev2->status == ev->status && ev2->created == ev->created,
             "the body validates to a different event");
  FUZZ_CHECK(ev2->body == ev->body, "the body changes when validated again");
  return 0;
}
