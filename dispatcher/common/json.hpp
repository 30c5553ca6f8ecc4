// Parsing JSON that someone else wrote: stream payloads, admin request bodies and whatever
// is stored in Redis. nlohmann parses without recursion, but copying, comparing and dumping
// a document recurse once per level, so a 90,000-deep array that parsed fine would later
// overflow the stack wherever it is rendered. Every untrusted text therefore goes through
// parse_untrusted_json, which refuses documents nested deeper than a bound (CONTRACT
// sections 1 and 6) and objects with a key given twice (receivers' parsers disagree on
// which one wins), in the same single pass that builds the document.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace dispatcher {

/// The nesting the contract allows: the top-level object or array is level 1.
inline constexpr std::size_t max_json_depth = 64;

enum class json_fault {
  /// Not JSON: a syntax error, ill-formed UTF-8, a number out of range.
  syntax,
  /// More than the allowed levels of objects and arrays.
  too_deep,
  /// The same key twice in one object.
  duplicate_key,
};

struct json_problem {
  json_fault fault;
  /// Completes a sentence whose subject the caller names ("payload " + message): "is not
  /// valid JSON: syntax error while parsing value - invalid literal", "is nested deeper
  /// than 64 levels", "has the key 'status' twice in the object at /data". Printable ASCII
  /// only, and never quotes more than a short key of the input: it ends up in logs and in
  /// API answers.
  std::string message;
};

/// Parses `text` (a whole JSON text; nothing but whitespace may follow it) without
/// recursion and without exceptions.
std::variant<nlohmann::json, json_problem> parse_untrusted_json(
    std::string_view text, std::size_t max_depth = max_json_depth);

/// One member of a top-level object, as scan_untrusted_json meets it. `text` is the value
/// of a string member (unescaped; valid only during the call), `integer` a number_integer,
/// `unsigned_integer` a number_unsigned; objects and arrays give only their type.
struct json_member {
  std::string_view key;
  nlohmann::json::value_t type = nlohmann::json::value_t::null;
  std::string_view text;
  std::int64_t integer = 0;
  std::uint64_t unsigned_integer = 0;
};

/// What scan_untrusted_json reports to: the type of the whole text's value first, then,
/// when it is an object, each of its members in order. Reported only for a text the scan
/// accepts.
class json_member_sink {
 public:
  virtual void root(nlohmann::json::value_t type) = 0;
  virtual void member(const json_member& m) = 0;

 protected:
  ~json_member_sink() = default;
};

/// Walks `text` with exactly parse_untrusted_json's checks, refusing the same texts with
/// the same problem, but builds no document: the ingest path needs a handful of top-level
/// members of each event, and the document cost a dozen allocations per event. A text is
/// first checked by a strict scanner of our own that allocates nothing; whatever it does
/// not accept outright (a problem, or a rare form such as an escaped key) is walked again
/// by nlohmann's parser, whose verdict and message stand.
std::optional<json_problem> scan_untrusted_json(std::string_view text, json_member_sink& sink,
                                                std::size_t max_depth = max_json_depth);

/// For showing stored text that anyone with access to Redis may have written: the parsed
/// document, or the text itself as a JSON string when parse_untrusted_json refuses it.
nlohmann::json json_or_text(std::string_view text);

/// Appends `text` as a JSON string, as nlohmann's dump(-1, ' ', false, replace) writes it
/// (what is not UTF-8 replaced): without a document for the common all-ASCII case, where
/// the document cost allocations on the delivery path.
void append_json_string(std::string& out, std::string_view text);

}  // namespace dispatcher
