// The identifier grammars every layer shares (common/ids.hpp): event types and filters of
// them, event ids, UUIDs, stream entry ids.
#include "dispatcher/common/ids.hpp"

#include <string>

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

TEST(ids, event_type_accepts_dotted_lowercase_names) {
  EXPECT_TRUE(is_event_type("account.connection.created"));
  EXPECT_TRUE(is_event_type("a.b"));
  EXPECT_TRUE(is_event_type("snake_case.v2_0"));
  EXPECT_FALSE(is_event_type("single"));
  EXPECT_FALSE(is_event_type("a.*"));
  EXPECT_FALSE(is_event_type("a.B"));
  EXPECT_FALSE(is_event_type("a..b"));
  EXPECT_FALSE(is_event_type(""));
}

TEST(ids, uuid_accepts_either_case_and_only_the_8_4_4_4_12_shape) {
  EXPECT_TRUE(is_uuid("0b7c1f0e-6a0e-4d0a-9d5e-1f3a2b4c5d6e"));
  EXPECT_TRUE(is_uuid("0B7C1F0E-6A0E-4D0A-9D5E-1F3A2B4C5D6E"));
  EXPECT_FALSE(is_uuid("0b7c1f0e6a0e4d0a9d5e1f3a2b4c5d6e"));
  EXPECT_FALSE(is_uuid("{0b7c1f0e-6a0e-4d0a-9d5e-1f3a2b4c5d6e}"));
  EXPECT_FALSE(is_uuid("0b7c1f0e-6a0e-4d0a-9d5e-1f3a2b4c5d6"));
  EXPECT_FALSE(is_uuid("0b7c1f0e-6a0e-4d0a-9d5e_1f3a2b4c5d6e"));
}

TEST(ids, stream_ids_are_two_64_bit_numbers) {
  for (const char* id : {"0-0", "1700000000000-0", "1700000000000-12",
                         "18446744073709551615-18446744073709551615"}) {
    EXPECT_TRUE(is_stream_id(id)) << id;
  }
  for (const char* id : {"", "-", "1-", "-1", "1", "1-2-3", "1-a", "a-1", "+1-0", "1--1", "1 -0",
                         "18446744073709551616-0", "0-18446744073709551616", "*", "$", "1-0:x"}) {
    EXPECT_FALSE(is_stream_id(id)) << id;
  }
}

TEST(ids, event_ids_are_1_to_128_of_letters_digits_and_four_marks) {
  EXPECT_TRUE(is_event_id("evt_1700000000000-0"));
  EXPECT_TRUE(is_event_id("order:42.v1-B"));
  EXPECT_TRUE(is_event_id(std::string(128, 'a')));
  EXPECT_FALSE(is_event_id(std::string(129, 'a')));
  EXPECT_FALSE(is_event_id(""));
  for (const char* bad : {"a b", "a/b", "a%2F", "ä", "a\n", "a?b"}) {
    EXPECT_FALSE(is_event_id(bad)) << bad;
  }
}

TEST(ids, event_filters_are_types_or_prefixes_ending_in_dot_star) {
  EXPECT_TRUE(is_event_filter("account.connection.created"));
  EXPECT_TRUE(is_event_filter("account.connection.*"));
  EXPECT_TRUE(is_event_filter("account.*"));
  for (const char* bad : {"*", ".*", "account", "account.", "Account.*", "account.*.x", "a..*"}) {
    EXPECT_FALSE(is_event_filter(bad)) << bad;
  }
}

TEST(ids, a_wildcard_matches_at_a_dot_and_a_type_only_itself) {
  EXPECT_TRUE(event_filter_matches("account.*", "account.connection.created"));
  EXPECT_FALSE(event_filter_matches("account.*", "accounts.connection.created"));
  EXPECT_FALSE(event_filter_matches("account.connection.*", "account.connection"));
  EXPECT_TRUE(event_filter_matches("a.b", "a.b"));
  EXPECT_FALSE(event_filter_matches("a.b", "a.b.c"));
}

}  // namespace
}  // namespace dispatcher
