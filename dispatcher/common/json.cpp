// One-pass checked parsing: a SAX handler that builds the document as nlohmann's own DOM
// parser does, counting open containers and inserting each key with try_emplace, whose
// "already there" answer is the duplicate check at no extra lookup. Parsing stops at the
// first problem, so a 200,000-deep text costs 65 levels of work.
#include "dispatcher/common/json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <unordered_set>
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

json_problem too_deep_problem(std::size_t max_depth) {
  return {json_fault::too_deep, "is nested deeper than " + std::to_string(max_depth) + " levels"};
}

// `path` is where the object with the repeated key sits, as a JSON Pointer.
json_problem duplicate_key_problem(std::string_view name, const std::string& path) {
  return {json_fault::duplicate_key,
          "has the key '" + printable(name, 40) + "' twice in " +
              (path.empty() ? std::string("the same object") : "the object at " + path)};
}

json_problem syntax_problem(const nlohmann::detail::exception& ex) {
  return {json_fault::syntax, "is not valid JSON: " + syntax_reason(ex.what())};
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
    problem = syntax_problem(ex);
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
      problem = too_deep_problem(max_depth_);
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
    return duplicate_key_problem(name, path);
  }

  json& root_;
  const std::size_t max_depth_;
  std::vector<frame> stack_;
  json* slot_ = nullptr;  // where the value after the last key goes
};

// The checks of checked_builder without the document. Each open object keeps its keys
// (in one list shared by all open objects) to find a repeat: by comparing while it has
// few, through a hash set once it has many, so a 180 KB object of short keys stays linear.
// Each open container notes where it sits in its parent (the key, or the array index)
// for the duplicate message's path. The lists live in `scan_scratch`, kept per thread and
// reused, so a scan of an ordinary event allocates nothing of its own.
struct scan_frame {
  bool object = false;
  std::size_t first_key = 0;    // this object's first entry in scan_scratch::keys
  std::size_t members = 0;      // keys (objects) or elements (arrays) so far
  std::size_t parent_slot = 0;  // the parent's key entry, or index in the parent array
  std::unique_ptr<std::unordered_set<std::string>> many;
};

struct scan_scratch {
  std::vector<std::string> keys;  // entries [0, used) are live; the rest keep capacity
  std::size_t used = 0;
  std::vector<scan_frame> frames;
};

// Objects with more keys than this are checked through a hash set.
constexpr std::size_t linear_key_limit = 32;

class checked_scanner {
 public:
  checked_scanner(scan_scratch& scratch, std::size_t max_depth)
      : keys_(scratch.keys), used_(scratch.used), frames_(scratch.frames), max_depth_(max_depth) {
    used_ = 0;
    frames_.clear();
  }

  bool null() { return scalar(member_of(json::value_t::null)); }
  bool boolean(bool) { return scalar(member_of(json::value_t::boolean)); }
  bool number_integer(json::number_integer_t value) {
    json_member m = member_of(json::value_t::number_integer);
    m.integer = value;
    return scalar(m);
  }
  bool number_unsigned(json::number_unsigned_t value) {
    json_member m = member_of(json::value_t::number_unsigned);
    m.unsigned_integer = value;
    return scalar(m);
  }
  bool number_float(json::number_float_t, const json::string_t&) {
    return scalar(member_of(json::value_t::number_float));
  }
  bool string(json::string_t& value) {
    json_member m = member_of(json::value_t::string);
    m.text = value;
    return scalar(m);
  }
  bool binary(json::binary_t&) { return scalar(member_of(json::value_t::binary)); }

  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& name) {
    scan_frame& frame = frames_.back();
    if (!frame.many && frame.members >= linear_key_limit) {
      frame.many = std::make_unique<std::unordered_set<std::string>>(
          keys_.begin() + static_cast<std::ptrdiff_t>(frame.first_key),
          keys_.begin() + static_cast<std::ptrdiff_t>(used_));
    }
    const bool repeated =
        frame.many ? !frame.many->insert(name).second
                   : std::find(keys_.begin() + static_cast<std::ptrdiff_t>(frame.first_key),
                               keys_.begin() + static_cast<std::ptrdiff_t>(used_),
                               name) != keys_.begin() + static_cast<std::ptrdiff_t>(used_);
    if (repeated) {
      problem = duplicate_key_problem(name, path());
      return false;
    }
    if (used_ == keys_.size()) {
      keys_.emplace_back(name);
    } else {
      keys_[used_].assign(name);
    }
    ++used_;
    ++frame.members;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    problem = syntax_problem(ex);
    return false;
  }

  // Reports what the walk kept to `sink`; only once the walk has accepted the text.
  void report(json_member_sink& sink) {
    sink.root(root_);
    for (std::size_t i = 0; i < members_.size(); ++i) {
      members_[i].key = texts_[i].first;
      members_[i].text = texts_[i].second;
      sink.member(members_[i]);
    }
  }

  std::optional<json_problem> problem;

 private:
  // Notes a value where it sits; answers its index when it is an array element.
  std::size_t place(const json_member& m) {
    if (frames_.empty()) {
      root_ = m.type;
      return 0;
    }
    scan_frame& parent = frames_.back();
    if (!parent.object) return parent.members++;
    if (frames_.size() == 1) {
      // Copies: the parser's buffer and the key list change as the walk goes on.
      members_.push_back(m);
      texts_.emplace_back(keys_[used_ - 1], m.text);
    }
    return used_ - 1;
  }

  static json_member member_of(json::value_t type) {
    json_member m;
    m.type = type;
    return m;
  }

  bool scalar(json_member m) {
    place(m);
    return true;
  }

  bool open(bool object) {
    if (frames_.size() >= max_depth_) {
      problem = too_deep_problem(max_depth_);
      return false;
    }
    json_member m = member_of(object ? json::value_t::object : json::value_t::array);
    const std::size_t slot = place(m);
    scan_frame& frame = frames_.emplace_back();
    frame.object = object;
    frame.first_key = used_;
    frame.parent_slot = slot;
    return true;
  }

  bool close() {
    if (frames_.back().object) used_ = frames_.back().first_key;
    frames_.pop_back();
    return true;
  }

  // Only on the error path, in the form checked_builder gives.
  std::string path() const {
    std::string out;
    for (std::size_t i = 1; i < frames_.size(); ++i) {
      if (frames_[i - 1].object) {
        append_segment(out, keys_[frames_[i].parent_slot]);
      } else {
        out += '/';
        out += std::to_string(frames_[i].parent_slot);
      }
    }
    return out;
  }

  json::value_t root_ = json::value_t::discarded;
  std::vector<json_member> members_;
  std::vector<std::pair<std::string, std::string>> texts_;  // key and string value
  std::vector<std::string>& keys_;
  std::size_t& used_;
  std::vector<scan_frame>& frames_;
  const std::size_t max_depth_;
};

// The scanner of our own, for the common case: a well-formed text without escaped keys.
// It accepts only what nlohmann accepts (RFC 8259 strictly: the same whitespace, numbers
// that fit a double, UTF-8 as RFC 3629 draws it) and answers "not sure" for everything
// else: any problem, a byte order mark, an escaped key or top-level string, a number whose
// value needs a closer look, a surrogate escape. Keys and values are views into the text,
// so nothing is copied or allocated beyond the reused lists.
struct fast_frame {
  bool object = false;
  std::size_t first_key = 0;
  std::unique_ptr<std::unordered_set<std::string_view>> many;
};

struct fast_scratch {
  std::vector<std::string_view> keys;
  std::vector<fast_frame> frames;
  std::vector<json_member> members;
  json::value_t root = json::value_t::discarded;
};

class fast_scanner {
 public:
  fast_scanner(std::string_view text, std::size_t max_depth, fast_scratch& scratch)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth), s_(scratch) {
    s_.keys.clear();
    s_.frames.clear();
    s_.members.clear();
    s_.root = json::value_t::discarded;
  }

  // True when the text is well-formed and within the checks; s_ then holds its members.
  bool run() {
    if (end_ - p_ >= 3 && std::string_view(p_, 3) == "\xEF\xBB\xBF") return false;
    skip_whitespace();
    for (;;) {
      if (!value()) return false;
      // After a complete value: close containers, or move to the next element.
      for (;;) {
        skip_whitespace();
        if (s_.frames.empty()) return p_ == end_;
        if (p_ == end_) return false;
        const bool object = s_.frames.back().object;
        if (*p_ == ',') {
          ++p_;
          skip_whitespace();
          if (object && !key()) return false;
          break;
        }
        if (*p_ != (object ? '}' : ']')) return false;
        ++p_;
        close();
      }
    }
  }

 private:
  static bool whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  void skip_whitespace() {
    while (p_ != end_ && whitespace(*p_)) ++p_;
  }

  // One value; a container is opened and its first element read, not walked further.
  bool value() {
    if (p_ == end_) return false;
    json_member m;
    switch (*p_) {
      case '{':
      case '[': {
        if (s_.frames.size() >= max_depth_) return false;
        const bool object = *p_ == '{';
        m.type = object ? json::value_t::object : json::value_t::array;
        note(m);
        fast_frame& frame = s_.frames.emplace_back();
        frame.object = object;
        frame.first_key = s_.keys.size();
        ++p_;
        skip_whitespace();
        if (p_ != end_ && *p_ == (object ? '}' : ']')) {
          ++p_;
          close();
          return true;
        }
        // Bounded recursion: each level opened a frame, and frames stop at max_depth_.
        return object ? key() && value() : value();
      }
      case '"':
        m.type = json::value_t::string;
        // A top-level member's value is handed over as is: it must have no escapes.
        if (!string(m.text, !reported())) return false;
        break;
      case 't':
        m.type = json::value_t::boolean;
        if (!literal("true")) return false;
        break;
      case 'f':
        m.type = json::value_t::boolean;
        if (!literal("false")) return false;
        break;
      case 'n':
        m.type = json::value_t::null;
        if (!literal("null")) return false;
        break;
      default:
        if (!number(m)) return false;
    }
    note(m);
    return true;
  }

  // Whether a value read now is a member of the top-level object.
  bool reported() const { return s_.frames.size() == 1 && s_.frames.back().object; }

  void note(json_member& m) {
    if (s_.frames.empty()) {
      s_.root = m.type;
    } else if (reported()) {
      m.key = s_.keys.back();
      s_.members.push_back(m);
    }
  }

  void close() {
    if (s_.frames.back().object) s_.keys.resize(s_.frames.back().first_key);
    s_.frames.pop_back();
  }

  // A key, its colon and the whitespace after; false on a repeat (the slow walk names it).
  bool key() {
    std::string_view name;
    if (p_ == end_ || *p_ != '"' || !string(name, false)) return false;
    fast_frame& frame = s_.frames.back();
    const auto first = s_.keys.begin() + static_cast<std::ptrdiff_t>(frame.first_key);
    if (!frame.many && s_.keys.end() - first >= static_cast<std::ptrdiff_t>(linear_key_limit)) {
      frame.many = std::make_unique<std::unordered_set<std::string_view>>(first, s_.keys.end());
    }
    if (frame.many ? !frame.many->insert(name).second
                   : std::find(first, s_.keys.end(), name) != s_.keys.end()) {
      return false;
    }
    s_.keys.push_back(name);
    skip_whitespace();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    skip_whitespace();
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // At the opening quote. `out` is the text between the quotes.
  bool string(std::string_view& out, bool escapes) {
    const char* start = ++p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c < 0x80) {
        if (c == '\\' && !(escapes && escape())) return false;
        if (c != '\\') ++p_;
        continue;
      }
      if (!utf8()) return false;
    }
    return false;
  }

  // At a backslash: a simple escape or \u of a code point that is not a surrogate.
  bool escape() {
    if (end_ - p_ < 2) return false;
    switch (p_[1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        p_ += 2;
        return true;
      case 'u': {
        if (end_ - p_ < 6) return false;
        unsigned code = 0;
        for (int i = 2; i < 6; ++i) {
          const char h = p_[i];
          const int v = digit(h)               ? h - '0'
                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                               : -1;
          if (v < 0) return false;
          code = code * 16 + static_cast<unsigned>(v);
        }
        if (code >= 0xD800 && code <= 0xDFFF) return false;
        p_ += 6;
        return true;
      }
      default:
        return false;
    }
  }

  // At a byte of 0x80 or more: one well-formed UTF-8 sequence (RFC 3629, table 3-7 of
  // Unicode), the ranges nlohmann's lexer checks.
  bool utf8() {
    const auto b0 = static_cast<unsigned char>(p_[0]);
    int length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3;
      if (b0 == 0xE0) low = 0xA0;
      if (b0 == 0xED) high = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4;
      if (b0 == 0xF0) low = 0x90;
      if (b0 == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (end_ - p_ < length) return false;
    const auto b1 = static_cast<unsigned char>(p_[1]);
    if (b1 < low || b1 > high) return false;
    for (int i = 2; i < length; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if (b < 0x80 || b > 0xBF) return false;
    }
    p_ += length;
    return true;
  }

  // RFC 8259's number; its type and value as nlohmann gives them (an integer past 64 bits
  // becomes a double), or false when it does not fit a finite double.
  bool number(json_member& m) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    bool fraction = false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
      fraction = true;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
      fraction = true;
    }
    if (!fraction) {
      if (negative) {
        const auto [end, ec] = std::from_chars(start, p_, m.integer);
        if (ec == std::errc() && end == p_) {
          m.type = json::value_t::number_integer;
          return true;
        }
      } else {
        const auto [end, ec] = std::from_chars(start, p_, m.unsigned_integer);
        if (ec == std::errc() && end == p_) {
          m.type = json::value_t::number_unsigned;
          return true;
        }
      }
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(start, p_, value);
    if (ec != std::errc() || end != p_ || !std::isfinite(value)) return false;
    m.type = json::value_t::number_float;
    return true;
  }

  const char* p_;
  const char* const end_;
  const std::size_t max_depth_;
  fast_scratch& s_;
};

/// nlohmann's lexer takes a NUL byte for the end of input, so `{}\0anything` parses as
/// `{}`; a NUL inside a string it refuses (unescaped control character). So a text it
/// accepted that holds a NUL has bytes after its value: not one JSON text.
std::optional<json_problem> nul_after_value(std::string_view text) {
  if (text.find('\0') == std::string_view::npos) return std::nullopt;
  return json_problem{json_fault::syntax, "is not valid JSON: a NUL byte follows the value"};
}

}  // namespace

std::variant<nlohmann::json, json_problem> parse_untrusted_json(std::string_view text,
                                                                std::size_t max_depth) {
  json root;
  checked_builder builder(root, max_depth);
  if (!json::sax_parse(text, &builder)) {
    if (builder.problem) return std::move(*builder.problem);
    return json_problem{json_fault::syntax, "is not valid JSON"};
  }
  if (auto problem = nul_after_value(text)) return std::move(*problem);
  return root;
}

std::optional<json_problem> scan_untrusted_json(std::string_view text, json_member_sink& sink,
                                                std::size_t max_depth) {
  // One io thread validates every event; the scratch lists outlive the call so that their
  // capacity is reused.
  thread_local fast_scratch fast;
  if (fast_scanner(text, max_depth, fast).run()) {
    sink.root(fast.root);
    for (const json_member& m : fast.members) sink.member(m);
    return std::nullopt;
  }
  thread_local scan_scratch scratch;
  checked_scanner scanner(scratch, max_depth);
  if (!json::sax_parse(text, &scanner)) {
    if (scanner.problem) return std::move(*scanner.problem);
    return json_problem{json_fault::syntax, "is not valid JSON"};
  }
  if (auto problem = nul_after_value(text)) return problem;
  scanner.report(sink);
  return std::nullopt;
}

// ASCII is escaped here the way nlohmann's dump(-1, ' ', false, replace) does (the short escapes,
// \u00XX in lowercase for other control characters); text with any other byte goes through
// nlohmann, which also replaces what is not UTF-8 (receivers send anything).
void append_json_string(std::string& out, std::string_view text) {
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) {
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex[static_cast<unsigned char>(c) >> 4];
          out += hex[static_cast<unsigned char>(c) & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

nlohmann::json json_or_text(std::string_view text) {
  auto parsed = parse_untrusted_json(text);
  if (auto* doc = std::get_if<json>(&parsed)) return std::move(*doc);
  return json(std::string(text));
}

}  // namespace dispatcher
