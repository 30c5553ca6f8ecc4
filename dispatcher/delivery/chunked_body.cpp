// Decodes the chunked transfer coding; see chunked_body.hpp for why it is not Beast's.
#include "dispatcher/delivery/chunked_body.hpp"

#include <algorithm>
#include <limits>

namespace dispatcher::delivery {

namespace {

int chunk_hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view chunk_line_not_crlf = "chunk framing line not ended by CRLF";

}  // namespace

chunked_decoder::step chunked_decoder::next(std::string_view input) {
  step out;
  std::size_t i = 0;
  while (i < input.size() && !finished()) {
    if (state_ == state::data) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - i));
      out.data = input.substr(i, n);
      i += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = state::data_cr;
      break;  // one slice of data a step
    }
    frame(input[i++]);
  }
  out.consumed = i;
  return out;
}

void chunked_decoder::frame(char c) {
  switch (state_) {
    case state::size_first:
    case state::size:
    case state::extension:
    case state::size_lf:
      if (++line_bytes_ > line_limit_) return fail("chunk-size line too long");
      break;
    case state::trailer_start:
    case state::trailer_line:
    case state::trailer_lf:
    case state::end_lf:
      if (++trailer_bytes_ > line_limit_) return fail("trailer section too long");
      break;
    default:
      break;
  }

  switch (state_) {
    case state::size_first:
    case state::size: {
      const int digit = chunk_hex_digit(c);
      if (digit >= 0) {
        // Leading zeros are allowed, so the digits are not counted: the value is bounded.
        if (remaining_ > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
          return fail("chunk size too large");
        }
        remaining_ = (remaining_ << 4) | static_cast<std::uint64_t>(digit);
        state_ = state::size;
      } else if (state_ == state::size && (c == ';' || c == ' ' || c == '\t')) {
        state_ = state::extension;
      } else if (state_ == state::size && c == '\r') {
        state_ = state::size_lf;
      } else if (state_ == state::size && c == '\n') {
        fail(chunk_line_not_crlf);
      } else {
        fail("invalid chunk size");
      }
      return;
    }
    case state::extension:
      if (c == '\r') {
        state_ = state::size_lf;
      } else if (c == '\n') {
        fail(chunk_line_not_crlf);
      }
      return;
    case state::size_lf:
      if (c != '\n') return fail(chunk_line_not_crlf);
      state_ = remaining_ == 0 ? state::trailer_start : state::data;
      return;
    case state::data_cr:
      if (c != '\r') return fail("chunk data not followed by CRLF");
      state_ = state::data_lf;
      return;
    case state::data_lf:
      if (c != '\n') return fail("chunk data not followed by CRLF");
      state_ = state::size_first;
      line_bytes_ = 0;
      return;
    case state::trailer_start:
      if (c == '\r') {
        state_ = state::end_lf;
      } else if (c == '\n') {
        fail(chunk_line_not_crlf);
      } else {
        state_ = state::trailer_line;
      }
      return;
    case state::trailer_line:
      if (c == '\r') {
        state_ = state::trailer_lf;
      } else if (c == '\n') {
        fail(chunk_line_not_crlf);
      }
      return;
    case state::trailer_lf:
      if (c != '\n') return fail(chunk_line_not_crlf);
      state_ = state::trailer_start;
      return;
    case state::end_lf:
      if (c != '\n') return fail(chunk_line_not_crlf);
      state_ = state::done;
      return;
    case state::data:
    case state::done:
    case state::failed:
      return;  // not framing: next() never passes these here
  }
}

}  // namespace dispatcher::delivery
