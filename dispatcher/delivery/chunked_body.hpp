// The chunked transfer coding of a webhook response's body (RFC 9112 section 7.1), decoded
// incrementally and without I/O. The HTTP client reads a response's header with Beast but
// decodes a chunked body here: Boost.Beast 1.81's chunk parser asserts (`n >= 5` in
// parse_chunk_header) when a final chunk `0\r\n` is followed by fewer than two more bytes
// in a later read, so any receiver could abort a build with assertions on by answering
// chunked and trickling its last bytes. Receivers legitimately answer chunked, so the body
// must still be read.
//
// Every byte of the input is judged once, whatever the pieces it arrives in, and nothing is
// buffered: chunk data comes back as slices of the caller's input. A chunk-size line
// (extensions included) and the trailer section are each bounded by `line_limit` bytes;
// the body's size is the caller's to bound. Extensions and trailer fields are skipped: an
// attempt record keeps only the status and the first bytes of the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dispatcher::delivery {

class chunked_decoder {
 public:
  /// What `next` consumed: `data` is the chunk data among those bytes (a slice of the
  /// input, possibly empty); the rest of them was framing.
  struct step {
    std::size_t consumed = 0;
    std::string_view data;
  };

  explicit chunked_decoder(std::size_t line_limit) : line_limit_(line_limit) {}

  /// Decodes from the start of `input` to the end of the next piece of chunk data, the end
  /// of the body, an error, or the end of the input, whichever comes first. Call it again
  /// with the bytes after `consumed` until finished() or the input runs out; input that is
  /// not empty always advances the decoder. Bytes after the end of the body are left
  /// unconsumed (the next response on a keep-alive connection).
  step next(std::string_view input);

  /// The last chunk and the trailer section's empty line were read.
  bool done() const { return state_ == state::done; }
  /// The framing is invalid or over a bound; error() says how.
  bool failed() const { return state_ == state::failed; }
  bool finished() const { return done() || failed(); }
  /// Empty unless failed(): "invalid chunk size", "chunk-size line too long", ...
  std::string_view error() const { return error_; }

 private:
  enum class state {
    size_first,  // the first hex digit of a chunk size
    size,        // more hex digits, an extension or CR
    extension,   // skipped up to CR
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,  // a field line, or the CR of the empty line that ends the body
    trailer_line,   // skipped up to CR
    trailer_lf,
    end_lf,
    done,
    failed,
  };

  void fail(std::string_view why) {
    state_ = state::failed;
    error_ = why;
  }
  /// Decodes one framing byte.
  void frame(char c);

  std::size_t line_limit_;
  state state_ = state::size_first;
  std::uint64_t remaining_ = 0;  // of the current chunk's size, then data
  std::size_t line_bytes_ = 0;   // of the chunk-size line being read
  std::size_t trailer_bytes_ = 0;
  std::string_view error_;
};

}  // namespace dispatcher::delivery
