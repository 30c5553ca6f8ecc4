// Redis commands as RESP bytes and replies as values (redis/reply.hpp, redis/fields.hpp):
// what the connection writes and what the stores read, without a server.
#include <gtest/gtest.h>

#include "dispatcher/redis/fields.hpp"
#include "dispatcher/redis/reply.hpp"
#include "dispatcher/redis/reply_parser.hpp"
#include "tests/support/replies.hpp"

namespace dispatcher::redis {
namespace {

std::string encoded(const command& c) {
  std::string out;
  c.append_to(out);
  return out;
}

TEST(command, arguments_are_bulk_strings_in_a_resp_array) {
  EXPECT_EQ(encoded(command{"GET", "k"}), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  EXPECT_EQ(encoded(command{}), "*0\r\n");
  EXPECT_EQ(command("SET", "k", "v").size(), 3u);
}

TEST(command, arguments_are_binary_safe) {
  // Lengths, not delimiters, frame an argument: CR, LF, NUL and "$" pass unchanged.
  const std::string value("a\r\n$0\r\n\0b", 10);
  EXPECT_EQ(encoded(command{"SET", "k", value}),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n" + value + "\r\n");
  EXPECT_EQ(encoded(command{"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(command, integers_are_written_as_decimal_text) {
  command c{"EXPIRE", "k"};
  c.arg(std::int64_t{-42});
  c.arg(std::int64_t{9'223'372'036'854'775'807});
  EXPECT_EQ(encoded(c),
            "*4\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$3\r\n-42\r\n$19\r\n9223372036854775807\r\n");
}

TEST(command, a_batch_is_the_commands_one_after_the_other) {
  std::string out;
  command{"MULTI"}.append_to(out);
  command{"INCR", "n"}.append_to(out);
  command c;
  c.reserve(1024);  // room for arguments changes nothing that is written
  c.arg("EXEC");
  c.append_to(out);
  EXPECT_EQ(out, "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n");
}

TEST(command, an_appended_argument_list_writes_what_its_arguments_would) {
  // The scripts' arguments are encoded on their own (redis/script_io.hpp) and put behind
  // EVALSHA's: the same bytes as writing every argument into one command.
  command args;
  args.arg("s").arg(std::int64_t{12}).arg(std::string_view("a\r\nb"));
  command whole{"EVALSHA", "sha", "1"};
  whole.append(args);
  command direct{"EVALSHA", "sha", "1", "s", "12", "a\r\nb"};
  EXPECT_EQ(encoded(whole), encoded(direct));
  EXPECT_EQ(whole.size(), 6u);
  EXPECT_EQ(args.size(), 3u) << "the list appended is left as it was";
  EXPECT_EQ(testing::args_of(whole),
            (std::vector<std::string>{"EVALSHA", "sha", "1", "s", "12", "a\r\nb"}));
  // Appended twice (a NOSCRIPT retry builds EVAL from the same list): the same bytes again.
  command again{"EVALSHA", "sha", "1"};
  again.append(args);
  EXPECT_EQ(encoded(again), encoded(direct));
}

TEST(command, what_is_written_reads_back_as_the_same_arguments) {
  // A RESP request has the shape of a reply: the reply parser must see the arguments.
  const std::vector<std::string> args{"EVALSHA", std::string(70'000, 'x'), "0", "\r\n", ""};
  command c;
  for (const auto& a : args) c.arg(a);
  reply_parser parser;
  ASSERT_FALSE(parser.feed(encoded(c)));
  auto parsed = parser.next();
  ASSERT_TRUE(parsed.value);
  EXPECT_EQ(to_strings(*parsed.value), args);
}

TEST(reply, as_integer_reads_integers_and_integer_text_only) {
  EXPECT_EQ(testing::integer_reply(7).as_integer(), 7);
  EXPECT_EQ(testing::string_reply("-12").as_integer(),
            -12);  // Lua returns numbers as strings often
  EXPECT_EQ(testing::string_reply("12x").as_integer(), std::nullopt);
  EXPECT_EQ(testing::string_reply("").as_integer(), std::nullopt);
  EXPECT_EQ(testing::string_reply("99999999999999999999").as_integer(), std::nullopt);
  EXPECT_EQ(reply{}.as_integer(), std::nullopt);  // nil
}

TEST(reply, error_of_tells_transport_failures_from_error_replies) {
  result ok;
  ok.value = testing::integer_reply(1);
  EXPECT_FALSE(error_of(ok));
  EXPECT_TRUE(ok.ok());

  result refused;
  refused.value.type = reply::kind::error;
  refused.value.str = "NOSCRIPT No matching script";
  EXPECT_EQ(error_of(refused), errc::redis_error_reply);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.error_message(), "NOSCRIPT No matching script");

  result lost;
  lost.ec = errc::redis_timeout;
  EXPECT_EQ(error_of(lost), errc::redis_timeout);
  EXPECT_EQ(lost.error_message(), "Redis did not answer in time");
}

TEST(fields, hgetall_pairs_become_a_map_and_other_shapes_nothing) {
  const auto fields = to_fields(testing::array_reply(
      {testing::string_reply("a"), testing::string_reply("1"), testing::string_reply("b"),
       testing::string_reply("2"), testing::string_reply("dangling")}));
  EXPECT_EQ(fields, (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(to_fields(testing::string_reply("a")).empty());
  EXPECT_TRUE(to_fields(reply{}).empty());
  EXPECT_TRUE(to_strings(testing::integer_reply(3)).empty());
}

}  // namespace
}  // namespace dispatcher::redis
