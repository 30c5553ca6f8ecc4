// Checked parsing of untrusted JSON: the depth bound, duplicate keys, and a document equal
// to what nlohmann's own parser builds.
#include "dispatcher/common/json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace dispatcher {
namespace {

using json = nlohmann::json;

json parse_ok(std::string_view text, std::size_t max_depth = max_json_depth) {
  auto result = parse_untrusted_json(text, max_depth);
  if (auto* problem = std::get_if<json_problem>(&result)) {
    ADD_FAILURE() << text.substr(0, 200) << ": " << problem->message;
    return {};
  }
  return std::move(std::get<json>(result));
}

json_problem parse_problem(std::string_view text, std::size_t max_depth = max_json_depth) {
  auto result = parse_untrusted_json(text, max_depth);
  if (auto* problem = std::get_if<json_problem>(&result)) return *problem;
  ADD_FAILURE() << text.substr(0, 200) << " was accepted";
  return {json_fault::syntax, ""};
}

// Objects and arrays alternating, `levels` deep in all: {"a":[{"a":[ ... ]}]}.
std::string mixed_nesting(std::size_t levels) {
  std::string open, close;
  for (std::size_t i = 0; i < levels; ++i) {
    open += i % 2 == 0 ? R"({"a":)" : "[";
    close += i % 2 == 0 ? "}" : "]";
  }
  std::reverse(close.begin(), close.end());
  return open + "1" + close;
}

TEST(untrusted_json, builds_the_same_document_as_nlohmann) {
  for (const char* text : {
           R"({"a":1,"b":[true,false,null,-5,18446744073709551615,1.5e3,"x\u00e9\n"],"c":{}})",
           R"([[],{},[{}],"",0])",
           "  {\"z\": {\"y\": [1, {\"x\": [ ]}]}}  ",
           "42",
           "\"text\"",
           "null",
       }) {
    EXPECT_EQ(parse_ok(text), json::parse(text)) << text;
  }
}

TEST(untrusted_json, nesting_64_deep_is_accepted_and_65_is_refused) {
  const std::string arrays = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(parse_ok(arrays), json::parse(arrays));
  EXPECT_EQ(parse_ok(mixed_nesting(64)), json::parse(mixed_nesting(64)));
  const auto problem = parse_problem(mixed_nesting(65));
  EXPECT_EQ(problem.fault, json_fault::too_deep);
  EXPECT_EQ(problem.message, "is nested deeper than 64 levels");
  EXPECT_EQ(parse_problem(std::string(65, '[') + std::string(65, ']')).fault, json_fault::too_deep);
}

TEST(untrusted_json, the_bound_is_a_parameter) {
  EXPECT_EQ(parse_ok("[1]", 1), json::array({1}));
  EXPECT_EQ(parse_ok("7", 0), 7);
  EXPECT_EQ(parse_problem("[[1]]", 1).message, "is nested deeper than 1 levels");
  EXPECT_EQ(parse_problem("{}", 0).fault, json_fault::too_deep);
}

TEST(untrusted_json, 200000_nested_arrays_are_refused_without_crashing) {
  const std::string closed = std::string(200'000, '[') + std::string(200'000, ']');
  EXPECT_EQ(parse_problem(closed).fault, json_fault::too_deep);
  // Never closed: refused for its depth before the parser reaches the missing end.
  EXPECT_EQ(parse_problem(std::string(200'000, '[')).fault, json_fault::too_deep);
  EXPECT_EQ(parse_problem(mixed_nesting(200'000)).fault, json_fault::too_deep);
}

TEST(untrusted_json, a_duplicate_key_at_the_top_level_is_refused) {
  const auto problem = parse_problem(R"({"status":"active","id":"1","status":"inactive"})");
  EXPECT_EQ(problem.fault, json_fault::duplicate_key);
  EXPECT_EQ(problem.message, "has the key 'status' twice in the same object");
  // Keys are compared after unescaping.
  EXPECT_EQ(parse_problem(R"({"a":1,"\u0061":2})").message,
            "has the key 'a' twice in the same object");
}

TEST(untrusted_json, a_nested_duplicate_key_is_refused_with_its_place) {
  const auto problem =
      parse_problem(R"({"data":{"items":[{"x":1},{"x":1,"y":{"a/b~":{"k":1,"k":2}}}]}})");
  EXPECT_EQ(problem.fault, json_fault::duplicate_key);
  EXPECT_EQ(problem.message, "has the key 'k' twice in the object at /data/items/1/y/a~1b~0");
}

TEST(untrusted_json, the_same_key_in_different_objects_is_fine) {
  const json doc = parse_ok(R"({"a":{"a":1},"b":[{"a":2},{"a":3}],"c":{"b":{"a":4}}})");
  EXPECT_EQ(doc["b"][1]["a"], 3);
  EXPECT_EQ(doc["c"]["b"]["a"], 4);
}

TEST(untrusted_json, duplicate_messages_quote_keys_printably_and_briefly) {
  const std::string long_key(500, 'k');
  const auto problem = parse_problem("{\"" + long_key + "\":1,\"" + long_key + "\":2}");
  EXPECT_LT(problem.message.size(), 100u) << problem.message;
  EXPECT_EQ(parse_problem("{\"\\u0001\xc3\xa9\":1,\"\\u0001\xc3\xa9\":2}").message,
            std::string("has the key '") + "???" + "' twice in the same object");
}

TEST(untrusted_json, wide_and_large_documents_are_fine) {
  std::string many_objects = "[";
  for (int i = 0; i < 20'000; ++i) {
    many_objects += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + R"(,"v":[1]})";
  }
  many_objects += "]";
  const json objects = parse_ok(many_objects);
  ASSERT_EQ(objects.size(), 20'000u);
  EXPECT_EQ(objects[19'999]["id"], 19'999);

  std::string many_keys = "{";
  for (int i = 0; i < 20'000; ++i) {
    many_keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  }
  EXPECT_EQ(parse_ok(many_keys + "}").size(), 20'000u);
  EXPECT_EQ(parse_problem(many_keys + ",\"k19999\":0}").message,
            "has the key 'k19999' twice in the same object");
}

TEST(untrusted_json, syntax_errors_say_why_without_the_exception_tag) {
  for (const char* text : {"{not json", "{\"a\":1} x", "", "[1,]", "1e999", "\"\xff\""}) {
    const auto problem = parse_problem(text);
    EXPECT_EQ(problem.fault, json_fault::syntax) << text;
    EXPECT_TRUE(problem.message.starts_with("is not valid JSON: ")) << problem.message;
    EXPECT_EQ(problem.message.find("[json.exception"), std::string::npos) << problem.message;
    for (const char c : problem.message) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << problem.message;
    }
  }
}

// scan_untrusted_json: the same refusals as parse_untrusted_json, without a document.

// Notes what the scan reports, as text: "root <type>" then "<key>=<type>[:value]".
struct recording_sink final : json_member_sink {
  std::vector<std::string> seen;
  void root(json::value_t type) override {
    seen.push_back(std::string("root ") + json(type).type_name());
  }
  void member(const json_member& m) override {
    std::string line = std::string(m.key) + "=" + json(m.type).type_name();
    if (m.type == json::value_t::string) line += ":" + std::string(m.text);
    if (m.type == json::value_t::number_integer) line += ":" + std::to_string(m.integer);
    if (m.type == json::value_t::number_unsigned) line += ":" + std::to_string(m.unsigned_integer);
    seen.push_back(line);
  }
};

// What nlohmann's own parser makes of `text`'s top level, in recording_sink's lines.
std::vector<std::string> expected_report(const json& doc) {
  std::vector<std::string> lines{std::string("root ") + doc.type_name()};
  if (!doc.is_object()) return lines;
  for (const auto& [key, value] : doc.items()) {
    std::string line = key + "=" + value.type_name();
    if (value.is_string()) line += ":" + value.get<std::string>();
    if (value.is_number_integer() && !value.is_number_unsigned()) {
      line += ":" + std::to_string(value.get<std::int64_t>());
    }
    if (value.is_number_unsigned()) line += ":" + std::to_string(value.get<std::uint64_t>());
    lines.push_back(line);
  }
  return lines;
}

// Both checks on `text`: the same verdict, the same fault and message when refused, and
// when accepted the top-level members nlohmann's document has (in the document's key
// order, which is sorted: so is the comparison).
void expect_same_verdict(std::string_view text, std::size_t max_depth = max_json_depth) {
  recording_sink sink;
  const auto scanned = scan_untrusted_json(text, sink, max_depth);
  const auto parsed = parse_untrusted_json(text, max_depth);
  const auto* problem = std::get_if<json_problem>(&parsed);
  ASSERT_EQ(scanned.has_value(), problem != nullptr) << text.substr(0, 300);
  if (problem) {
    EXPECT_EQ(scanned->fault, problem->fault) << text.substr(0, 300);
    EXPECT_EQ(scanned->message, problem->message) << text.substr(0, 300);
    EXPECT_TRUE(sink.seen.empty()) << text.substr(0, 300);
    return;
  }
  std::vector<std::string> expected = expected_report(std::get<json>(parsed));
  std::sort(sink.seen.begin() + 1, sink.seen.end());
  std::sort(expected.begin() + 1, expected.end());
  EXPECT_EQ(sink.seen, expected) << text.substr(0, 300);
}

TEST(untrusted_json, a_nul_byte_after_the_value_is_refused_not_taken_for_the_end) {
  // nlohmann's lexer ends its input at a NUL: these parsed as {"a":1} and [].
  using namespace std::string_literals;
  for (const std::string& text : {"{\"a\":1}\0garbage"s, "[]\0"s, "{\"a\":1} \0 x"s}) {
    const auto problem = parse_problem(text);
    EXPECT_EQ(problem.fault, json_fault::syntax);
    EXPECT_EQ(problem.message, "is not valid JSON: a NUL byte follows the value");
    recording_sink sink;
    const auto scanned = scan_untrusted_json(text, sink);
    ASSERT_TRUE(scanned);
    EXPECT_EQ(scanned->message, problem.message);
    EXPECT_TRUE(sink.seen.empty());
  }
}

TEST(untrusted_json_scan, reports_the_root_type_and_each_top_level_member) {
  recording_sink sink;
  EXPECT_FALSE(scan_untrusted_json(
      R"({"s":"text","i":-5,"u":7,"f":1.5,"n":null,"b":true,"o":{"s":"inner"},"a":["x"]})", sink));
  EXPECT_EQ(sink.seen,
            (std::vector<std::string>{"root object", "s=string:text", "i=number:-5", "u=number:7",
                                      "f=number", "n=null", "b=boolean", "o=object", "a=array"}));
  recording_sink array_sink;
  EXPECT_FALSE(scan_untrusted_json(R"([{"s":1}])", array_sink));
  EXPECT_EQ(array_sink.seen, std::vector<std::string>{"root array"});
}

TEST(untrusted_json_scan, refuses_what_the_parser_refuses_with_the_same_message) {
  std::string many_keys = "{";
  for (int i = 0; i < 2'000; ++i) {
    many_keys += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  }
  const std::string many_objects = R"({"data":[{"a":1},)" + many_keys + R"(,"k7":1}]})";
  for (const std::string& text : std::vector<std::string>{
           std::string(R"({"a":1,"b":[true,null,-5,1.5e3,"x\u00e9\n"],"c":{}})"),
           std::string(R"({"status":"active","id":"1","status":"inactive"})"),
           std::string(R"({"a":1,"\u0061":2})"),
           std::string(R"({"data":{"items":[{"x":1},{"x":1,"y":{"a/b~":{"k":1,"k":2}}}]}})"),
           std::string(R"({"a":{"a":1},"b":[{"a":2},{"a":3}],"c":{"b":{"a":4}}})"),
           std::string(R"([[],{},[{}],"",0,{"x":[{"y":1,"y":2}]}])"),
           std::string(R"({"x":{"k":1},"y":{"k":1,"k":2}})"),  // a closed object's keys go
           "{\"\\u0001\xc3\xa9\":1,\"\\u0001\xc3\xa9\":2}",
           "{\"" + std::string(500, 'k') + "\":1,\"" + std::string(500, 'k') + "\":2}",
           many_keys + "}",
           many_keys + ",\"k1999\":0}",
           many_keys + ",\"k0\":0}",
           many_objects,
           mixed_nesting(64),
           mixed_nesting(65),
           mixed_nesting(200'000),
           std::string(200'000, '['),
           std::string(R"({"a":1,"a":2)") + "{not json",
           "{not json",
           "{\"a\":1} x",
           "",
           "[1,]",
           "1e999",
           "\"\xff\"",
           "42",
           "null",
           "  {\"z\": {\"y\": [1, {\"x\": [ ]}]}}  ",
       }) {
    expect_same_verdict(text);
  }
  expect_same_verdict("[[1]]", 1);
  expect_same_verdict("{}", 0);
}

TEST(untrusted_json_scan, mutated_documents_get_the_same_verdict_as_the_parser) {
  // A fixed seed: every run tries the same 6,000 texts, near-misses of valid documents
  // with keys repeated at several depths, inside arrays and past the linear-search limit.
  std::string wide = R"({"w":{)";
  for (int i = 0; i < 40; ++i)
    wide += (i ? ",\"" : "\"") + std::string(1, 'a' + i % 26) + std::to_string(i / 26) + "\":0";
  wide += "}}";
  const std::vector<std::string> seeds = {
      R"({"event":"a.b","data":{"k":[1,{"k":2,"j":[{"k":3}]}],"j":{"k":"v"}},"id":"x"})",
      R"({"created":1700000000,"n":-12,"f":-0.5e-3,"z":0,"t":true,"u":null,"s":"a\"\u00e9\n"})",
      "{\"s\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"d\":[\"\\ud83d\\ude00\",1E+2,"
      "18446744073709551616]}",
      R"([{"a":{"b":{"c":[{"d":1},{"d":2}]}}},{"a":1}])",
      wide,
  };
  const std::string pieces[] = {"{",        "}",  "[",  "]", ",",    ":",        "\"k\"",
                                "\"d\":1,", "\\", "\"", "1", "\xc3", "\"j\":{},"};
  std::mt19937 random(20261130);
  for (int round = 0; round < 6'000; ++round) {
    std::string text = seeds[random() % seeds.size()];
    for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
      const std::size_t at = random() % (text.size() + 1);
      switch (random() % 3) {
        case 0:
          text.insert(at, pieces[random() % std::size(pieces)]);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1 + random() % 4);
          break;
        default: {
          // Repeats a stretch, which often repeats a key.
          const std::size_t from = random() % text.size();
          text.insert(at, text.substr(from, 1 + random() % 12));
        }
      }
    }
    expect_same_verdict(text);
  }
}

TEST(untrusted_json, json_or_text_shows_refused_text_as_a_string) {
  const std::string deep = std::string(90'000, '[') + std::string(90'000, ']');
  EXPECT_EQ(json_or_text(deep), json(deep));
  EXPECT_EQ(json_or_text(R"({"a":1,"a":2})"), json(R"({"a":1,"a":2})"));
  EXPECT_EQ(json_or_text("{oops"), json("{oops"));
  EXPECT_EQ(json_or_text(R"({"a":[1]})"), json::parse(R"({"a":[1]})"));
}

}  // namespace
}  // namespace dispatcher
