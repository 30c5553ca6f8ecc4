// One-pass checked parsing: a SAX handler that builds the document as nlohmann's own DOM
// parser does, counting open containers and inserting each key with try_emplace, whose
// "already there" answer is the duplicate check at no extra lookup. Parsing stops at the
// first problem, so a 200,000-deep text costs 65 levels of work.
#include "dispatcher/common/json.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace dispatcher {

namespace {

using json = nlohmann::json;

// Control bytes and non-ASCII become '?': the text goes to logs and API errors, and a key
// that is not UTF-8 must not make the error itself unprintable.
std::string printable(std::string_view text, std::size_t max_length) {
  const bool cut = text.size() > max_length;
  if (cut) text = text.substr(0, max_length);
  std::string out;
  out.reserve(text.size() + 3);
  for (const char c : text) {
    out += static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f ? '?' : c;
  }
  if (cut) out += "...";
  return out;
}

// nlohmann's message, made fit for operators.
std::string syntax_reason(std::string_view what) {
  // Drop the "[json.exception.parse_error.101] " tag.
  if (const auto close = what.find("] ");
      !what.empty() && what.front() == '[' && close != std::string_view::npos) {
    what.remove_prefix(close + 2);
  }
  // "last read" quotes the offending token: it can be most of a 256 KiB string and hold
  // the very bytes that are not UTF-8.
  std::string text(what);
  if (const auto last = text.find("; last read: "); last != std::string::npos) {
    const auto expected = text.rfind("; expected ");
    text.erase(last, expected != std::string::npos && expected > last ? expected - last
                                                                      : std::string::npos);
  }
  return printable(text, text.size());
}

// A JSON Pointer segment (RFC 6901), shortened for the message.
void append_segment(std::string& path, std::string_view name) {
  path += '/';
  for (const char c : printable(name, 40)) {
    if (c == '~') {
      path += "~0";
    } else if (c == '/') {
      path += "~1";
    } else {
      path += c;
    }
  }
}

class checked_builder {
 public:
  checked_builder(json& root, std::size_t max_depth) : root_(root), max_depth_(max_depth) {
    stack_.reserve(16);
  }

  bool null() { return put(nullptr); }
  bool boolean(bool value) { return put(value); }
  bool number_integer(json::number_integer_t value) { return put(value); }
  bool number_unsigned(json::number_unsigned_t value) { return put(value); }
  bool number_float(json::number_float_t value, const json::string_t&) { return put(value); }
  bool string(json::string_t& value) { return put(std::move(value)); }
  bool binary(json::binary_t& value) { return put(std::move(value)); }

  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    // try_emplace leaves `name` alone when the key is already there.
    auto [it, inserted] = stack_.back().object->try_emplace(std::move(name));
    if (!inserted) {
      problem = duplicate(name);
      return false;
    }
    slot_ = &it->second;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    problem = json_problem{json_fault::syntax, "is not valid JSON: " + syntax_reason(ex.what())};
    return false;
  }

  std::optional<json_problem> problem;

 private:
  // An open container; exactly one of `object` and `array` is set.
  struct frame {
    json* value;
    json::object_t* object;
    json::array_t* array;
  };

  template <class Value>
  json* place(Value&& value) {
    if (stack_.empty()) {
      root_ = json(std::forward<Value>(value));
      return &root_;
    }
    if (auto* array = stack_.back().array) return &array->emplace_back(std::forward<Value>(value));
    *slot_ = json(std::forward<Value>(value));
    return slot_;
  }

  template <class Value>
  bool put(Value&& value) {
    place(std::forward<Value>(value));
    return true;
  }

  bool open(json::value_t type) {
    if (stack_.size() >= max_depth_) {
      problem = json_problem{json_fault::too_deep,
                             "is nested deeper than " + std::to_string(max_depth_) + " levels"};
      return false;
    }
    json* value = place(type);
    if (type == json::value_t::object) {
      stack_.push_back({value, value->get_ptr<json::object_t*>(), nullptr});
    } else {
      stack_.push_back({value, nullptr, value->get_ptr<json::array_t*>()});
    }
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  // Only on the error path: where the object with the repeated key sits, as a JSON Pointer.
  json_problem duplicate(std::string_view name) const {
    std::string path;
    for (std::size_t i = 1; i < stack_.size(); ++i) {
      const frame& parent = stack_[i - 1];
      const json* child = stack_[i].value;
      if (parent.array) {
        path += '/';
        path += std::to_string(child - parent.array->data());
      } else {
        for (const auto& [member, value] : *parent.object) {
          if (&value == child) {
            append_segment(path, member);
            break;
          }
        }
      }
    }
    return {json_fault::duplicate_key,
            "has the key '" + printable(name, 40) + "' twice in " +
                (path.empty() ? std::string("the same object") : "the object at " + path)};
  }

  json& root_;
  const std::size_t max_depth_;
  std::vector<frame> stack_;
  json* slot_ = nullptr;  // where the value after the last key goes
};

}  // namespace

std::variant<nlohmann::json, json_problem> parse_untrusted_json(std::string_view text,
                                                                std::size_t max_depth) {
  json root;
  checked_builder builder(root, max_depth);
  if (!json::sax_parse(text, &builder)) {
    if (builder.problem) return std::move(*builder.problem);
    return json_problem{json_fault::syntax, "is not valid JSON"};
  }
  return root;
}

nlohmann::json json_or_text(std::string_view text) {
  auto parsed = parse_untrusted_json(text);
  if (auto* doc = std::get_if<json>(&parsed)) return std::move(*doc);
  return json(std::string(text));
}

}  // namespace dispatcher
