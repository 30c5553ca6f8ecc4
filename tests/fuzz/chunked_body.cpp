// Fuzz target: the chunked body decoder of webhook responses (delivery/chunked_body), what
// a receiver controls byte for byte. It must never crash nor stall, and the same bytes
// delivered in other pieces (the first input byte picks their size; TCP may cut anywhere,
// one byte at a time included) must give the same body, the same end and the same verdict.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dispatcher/delivery/chunked_body.hpp"
#include "tests/fuzz/check.hpp"

namespace {

using dispatcher::delivery::chunked_decoder;

struct outcome {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  std::string error;
};

// The client's limit on a chunk-size line and on the trailer section.
constexpr std::size_t line_limit = 8 * 1024;

outcome decode(std::string_view bytes, std::size_t piece) {
  chunked_decoder d(line_limit);
  outcome out;
  while (out.consumed < bytes.size() && !d.finished()) {
    const auto available = bytes.substr(out.consumed, piece);
    std::size_t used = 0;
    while (used < available.size() && !d.finished()) {
      const auto step = d.next(available.substr(used));
      FUZZ_CHECK(step.consumed > 0 || d.finished(), "no progress on input");
      FUZZ_CHECK(step.consumed <= available.size() - used, "consumed more than given");
      FUZZ_CHECK(step.data.size() <= step.consumed, "more data than bytes consumed");
      out.body.append(step.data);
      used += step.consumed;
    }
    out.consumed += used;
  }
  out.done = d.done();
  out.error = std::string(d.error());
  FUZZ_CHECK(out.done || out.error.empty() || d.failed(), "an error without failing");
  FUZZ_CHECK(!(out.done && d.failed()), "done and failed");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = data[0] % 16 + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto whole = decode(bytes, bytes.size() + 1);
  const auto cut = decode(bytes, piece);
  const auto trickled = decode(bytes, 1);
  for (const auto* other : {&cut, &trickled}) {
    FUZZ_CHECK(other->done == whole.done, "the end depends on the pieces");
    FUZZ_CHECK(other->error == whole.error, "the verdict depends on the pieces");
    FUZZ_CHECK(other->body == whole.body, "the body depends on the pieces");
    FUZZ_CHECK(!whole.done || other->consumed == whole.consumed,
               "the body's end depends on the pieces");
  }
  if (whole.done) {
    FUZZ_CHECK(whole.consumed >= 5 && bytes.substr(whole.consumed - 2, 2) == "\r\n",
               "a body ends with CRLF");
    FUZZ_CHECK(whole.body.size() + 5 <= whole.consumed, "the body is smaller than its framing");
  }
  return 0;
}
