// The RESP reply parser, without a socket: replies split across reads, pipelined replies,
// nesting, and the protocol errors that must end a connection.
#include "dispatcher/redis/reply_parser.hpp"

#include <gtest/gtest.h>

namespace dispatcher::redis {
namespace {

TEST(reply_parser, reply_split_across_reads_completes_only_when_whole) {
  reply_parser parser;
  ASSERT_FALSE(parser.feed("$5\r\nhel"));
  auto first = parser.next();
  EXPECT_FALSE(first.ec);
  EXPECT_FALSE(first.value);
  ASSERT_FALSE(parser.feed("lo\r\n"));
  auto second = parser.next();
  ASSERT_TRUE(second.value);
  EXPECT_EQ(second.value->type, reply::kind::string);
  EXPECT_EQ(second.value->str, "hello");
}

TEST(reply_parser, pipelined_replies_come_out_in_order_with_their_kinds) {
  reply_parser parser;
  ASSERT_FALSE(parser.feed("+OK\r\n-ERR no\r\n:-7\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:2\r\n"));
  std::vector<reply> replies;
  while (auto next = parser.next().value) replies.push_back(std::move(*next));
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0].type, reply::kind::status);
  EXPECT_EQ(replies[0].str, "OK");
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[1].str, "ERR no");
  EXPECT_EQ(replies[2].as_integer(), -7);
  EXPECT_TRUE(replies[3].is_nil());
  ASSERT_EQ(replies[4].elements.size(), 2u);
  EXPECT_EQ(replies[4].elements[0].str, "a");
  EXPECT_EQ(replies[4].elements[1].elements.at(0).integer, 2);
}

TEST(reply_parser, unknown_reply_type_is_a_protocol_error) {
  reply_parser parser;
  ASSERT_FALSE(parser.feed("!oops\r\n"));
  EXPECT_EQ(parser.next().ec, make_error_code(errc::redis_protocol));
}

// hiredis allocates the pointer table when it reads the header: unbounded, these 13 bytes
// would take 800 MB (and a few more digits, all the memory there is).
TEST(reply_parser, array_announcing_a_hundred_million_elements_is_a_protocol_error) {
  reply_parser parser;
  ASSERT_FALSE(parser.feed("*100000000\r\n"));
  EXPECT_EQ(parser.next().ec, make_error_code(errc::redis_protocol));
}

TEST(reply_parser, large_array_within_the_bound_is_parsed) {
  std::string bytes = "*100000\r\n";
  for (int i = 0; i < 100000; ++i) bytes += ":1\r\n";
  reply_parser parser;
  ASSERT_FALSE(parser.feed(bytes));
  auto next = parser.next();
  ASSERT_TRUE(next.value);
  EXPECT_EQ(next.value->elements.size(), 100000u);
}

TEST(reply_parser, a_fresh_parser_starts_clean_after_a_protocol_error) {
  reply_parser parser;
  ASSERT_FALSE(parser.feed("!oops\r\n"));
  ASSERT_TRUE(parser.next().ec);
  parser = reply_parser{};
  ASSERT_FALSE(parser.feed(":1\r\n"));
  auto next = parser.next();
  EXPECT_FALSE(next.ec);
  ASSERT_TRUE(next.value);
  EXPECT_EQ(next.value->integer, 1);
}

// Replies are built in place, an array's elements inside it (reply_parser.cpp): nesting,
// empty and nil arrays and every kind inside an array must land in their own slots.
TEST(reply_parser, nested_arrays_hold_every_kind_in_order) {
  reply_parser parser;
  ASSERT_FALSE(
      parser.feed("*5\r\n*0\r\n*-1\r\n*2\r\n+st\r\n-ERR e\r\n$0\r\n\r\n"
                  "*1\r\n*1\r\n$3\r\nabc\r\n"));
  auto next = parser.next();
  ASSERT_TRUE(next.value);
  const auto& r = *next.value;
  ASSERT_EQ(r.type, reply::kind::array);
  ASSERT_EQ(r.elements.size(), 5u);
  EXPECT_EQ(r.elements[0].type, reply::kind::array);
  EXPECT_TRUE(r.elements[0].elements.empty());
  EXPECT_TRUE(r.elements[1].is_nil());
  ASSERT_EQ(r.elements[2].elements.size(), 2u);
  EXPECT_EQ(r.elements[2].elements[0].type, reply::kind::status);
  EXPECT_EQ(r.elements[2].elements[0].str, "st");
  EXPECT_TRUE(r.elements[2].elements[1].is_error());
  EXPECT_EQ(r.elements[2].elements[1].str, "ERR e");
  EXPECT_EQ(r.elements[3].type, reply::kind::string);
  EXPECT_EQ(r.elements[3].str, "");
  EXPECT_EQ(r.elements[4].elements.at(0).elements.at(0).str, "abc");
  EXPECT_FALSE(parser.next().value);
}

TEST(reply_parser, a_protocol_error_inside_an_array_drops_what_was_built) {
  // Under the sanitizer build, what the first elements allocated must not leak.
  reply_parser parser;
  ASSERT_FALSE(parser.feed("*3\r\n$5\r\nhello\r\n*2\r\n:1\r\n!bad\r\n"));
  EXPECT_EQ(parser.next().ec, make_error_code(errc::redis_protocol));
}

TEST(reply_parser, an_unfinished_reply_is_freed_with_the_parser) {
  reply_parser parser;
  ASSERT_FALSE(parser.feed("*2\r\n$5\r\nhello\r\n"));
  EXPECT_FALSE(parser.next().value);
}

}  // namespace
}  // namespace dispatcher::redis
