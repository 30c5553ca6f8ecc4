// The chunked body decoder of webhook responses, fed whole and in every split: the body,
// where it ends (a keep-alive connection's next bytes stay unread), a final chunk that
// trickles in byte by byte (what Beast 1.81 asserts on), framing errors and the bounds.
#include "dispatcher/delivery/chunked_body.hpp"

#include <string>

#include <gtest/gtest.h>

namespace dispatcher::delivery {
namespace {

struct chunk_decoded {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  std::string error;
};

/// Feeds `input` in pieces of at most `piece` bytes, as reads would deliver it.
chunk_decoded chunk_decode(std::string_view input, std::size_t piece = std::string_view::npos,
                           std::size_t line_limit = 64) {
  chunked_decoder d(line_limit);
  chunk_decoded out;
  while (out.consumed < input.size() && !d.finished()) {
    const auto available = input.substr(out.consumed, piece);
    std::size_t used = 0;
    while (used < available.size() && !d.finished()) {
      const auto s = d.next(available.substr(used));
      EXPECT_TRUE(s.consumed > 0 || d.finished()) << "no progress";
      out.body.append(s.data);
      used += s.consumed;
    }
    out.consumed += used;
  }
  out.done = d.done();
  out.error = std::string(d.error());
  return out;
}

TEST(chunked_decoder, decodes_chunks_skipping_extensions_and_trailers) {
  const std::string body = "5;name=\"v\"\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
  const auto d = chunk_decode(body + "HTTP/1.1 204");
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.body, "hello world");
  EXPECT_EQ(d.consumed, body.size());  // the next response's bytes stay in the buffer
}

TEST(chunked_decoder, every_split_of_the_input_gives_the_same_result) {
  const std::string body = "a\r\n0123456789\r\n1A\r\n" + std::string(26, 'z') + "\r\n0\r\n\r\n";
  for (std::size_t piece = 1; piece <= body.size(); ++piece) {
    const auto d = chunk_decode(body + "next", piece);
    EXPECT_TRUE(d.done) << piece;
    EXPECT_EQ(d.body, "0123456789" + std::string(26, 'z')) << piece;
    EXPECT_EQ(d.consumed, body.size()) << piece;
  }
}

TEST(chunked_decoder, a_final_chunk_trickled_in_ends_the_body_at_its_last_byte) {
  chunked_decoder d(64);
  for (const std::string_view piece : {"0", "\r", "\n", "\r"}) {
    EXPECT_EQ(d.next(piece).consumed, 1u);
    EXPECT_FALSE(d.finished());
  }
  EXPECT_EQ(d.next("\nrest").consumed, 1u);
  EXPECT_TRUE(d.done());
}

TEST(chunked_decoder, data_comes_back_as_slices_of_the_input_as_it_arrives) {
  chunked_decoder d(64);
  auto s = d.next("8\r\nabc");
  EXPECT_EQ(s.consumed, 6u);
  EXPECT_EQ(s.data, "abc");
  s = d.next("defgh\r\n0\r\n\r\n");
  EXPECT_EQ(s.data, "defgh");
  EXPECT_EQ(s.consumed, 5u);
  EXPECT_EQ(d.next("\r\n0\r\n\r\n").consumed, 7u);
  EXPECT_TRUE(d.done());
}

TEST(chunked_decoder, an_unfinished_body_is_neither_done_nor_failed) {
  const auto d = chunk_decode("5\r\nhel");
  EXPECT_FALSE(d.done);
  EXPECT_EQ(d.error, "");
  EXPECT_EQ(d.body, "hel");
}

TEST(chunked_decoder, malformed_framing_fails_with_a_reason) {
  EXPECT_EQ(chunk_decode("\r\n").error, "invalid chunk size");
  EXPECT_EQ(chunk_decode("x\r\n").error, "invalid chunk size");
  EXPECT_EQ(chunk_decode("-5\r\n").error, "invalid chunk size");
  EXPECT_EQ(chunk_decode("5x\r\nhello\r\n").error, "invalid chunk size");
  EXPECT_EQ(chunk_decode("5\nhello\r\n").error, "chunk framing line not ended by CRLF");
  EXPECT_EQ(chunk_decode("5;a\nhello\r\n").error, "chunk framing line not ended by CRLF");
  EXPECT_EQ(chunk_decode("5\r\nhelloXY").error, "chunk data not followed by CRLF");
  EXPECT_EQ(chunk_decode("5\r\nhello\rX").error, "chunk data not followed by CRLF");
  EXPECT_EQ(chunk_decode("0\r\n\n").error, "chunk framing line not ended by CRLF");
  EXPECT_EQ(chunk_decode("0\r\nA: b\n").error, "chunk framing line not ended by CRLF");
  EXPECT_EQ(chunk_decode("0\r\nA: b\rX").error, "chunk framing line not ended by CRLF");
  EXPECT_EQ(chunk_decode("0\r\n\rX").error, "chunk framing line not ended by CRLF");
  for (std::size_t piece = 1; piece < 4; ++piece) {
    EXPECT_EQ(chunk_decode("5\r\nhelloXY", piece).error, "chunk data not followed by CRLF");
  }
}

TEST(chunked_decoder, sizes_lines_and_trailers_are_bounded) {
  // Leading zeros are fine; a value past 64 bits is not.
  EXPECT_EQ(chunk_decode(std::string(40, '0') + "3\r\nabc\r\n0\r\n\r\n", 7, 64).body, "abc");
  EXPECT_EQ(chunk_decode("10000000000000000\r\n").error, "chunk size too large");
  EXPECT_TRUE(chunk_decode("ffffffffffffffff\r\nabc").error.empty());
  // The size line, extensions included, and the trailer section within the limit of 16.
  EXPECT_TRUE(chunk_decode("1;" + std::string(12, 'e') + "\r\na\r\n0\r\n\r\n", 3, 16).done);
  EXPECT_EQ(chunk_decode("1;" + std::string(13, 'e') + "\r\na\r\n", 3, 16).error,
            "chunk-size line too long");
  EXPECT_TRUE(chunk_decode("0\r\nA: 1\r\nB: 2\r\n\r\n", 3, 16).done);
  EXPECT_EQ(chunk_decode("0\r\nA: 1\r\nB: 2222\r\n\r\n", 3, 16).error, "trailer section too long");
}

TEST(chunked_decoder, nothing_is_consumed_after_the_end_or_a_failure) {
  chunked_decoder done(64);
  EXPECT_EQ(done.next("0\r\n\r\n").consumed, 5u);
  EXPECT_EQ(done.next("1\r\na\r\n").consumed, 0u);
  chunked_decoder failed(64);
  failed.next("z");
  ASSERT_TRUE(failed.failed());
  EXPECT_EQ(failed.next("1\r\na\r\n").consumed, 0u);
  EXPECT_EQ(failed.error(), "invalid chunk size");
}

}  // namespace
}  // namespace dispatcher::delivery
