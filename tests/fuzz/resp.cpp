// Fuzz target: the RESP reply parser (redis::reply_parser). Replies arrive in pieces of
// any size; the parser must never crash, and cutting the same bytes at other places must
// give the same replies (or the same protocol error), as TCP may deliver them either way.
// hiredis is linked from the system, uninstrumented: coverage guides through our wrapper
// and conversion, and ASan still sees every allocation hiredis makes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "dispatcher/redis/reply_parser.hpp"
#include "tests/fuzz/check.hpp"

namespace {

using dispatcher::redis::reply;

bool same(const reply& a, const reply& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
      a.elements.size() != b.elements.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.elements.size(); ++i) {
    if (!same(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

void touch(const reply& r) {
  (void)r.as_integer();
  for (const auto& e : r.elements) touch(e);
}

struct outcome {
  std::vector<reply> replies;
  bool failed = false;
};

// Feeds `bytes` in pieces of `piece` bytes (all at once when 0), draining after each.
outcome parse(std::string_view bytes, std::size_t piece) {
  dispatcher::redis::reply_parser parser;
  outcome out;
  if (piece == 0) piece = bytes.size() + 1;
  for (std::size_t at = 0; at < bytes.size() && !out.failed; at += piece) {
    if (parser.feed(bytes.substr(at, piece))) {
      out.failed = true;
      break;
    }
    for (;;) {
      auto [ec, value] = parser.next();
      if (ec) {
        out.failed = true;
        break;
      }
      if (!value) break;
      touch(*value);
      out.replies.push_back(std::move(*value));
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the piece size; the rest is what Redis sent.
  const std::size_t piece = data[0] % 17;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto whole = parse(bytes, 0);
  const auto pieces = parse(bytes, piece);
  FUZZ_CHECK(whole.failed == pieces.failed, "protocol error depends on the cut");
  FUZZ_CHECK(whole.replies.size() == pieces.replies.size(), "reply count differs with the cut");
  for (std::size_t i = 0; i < whole.replies.size(); ++i) {
    FUZZ_CHECK(same(whole.replies[i], pieces.replies[i]), "reply differs with the cut");
  }
  return 0;
}
