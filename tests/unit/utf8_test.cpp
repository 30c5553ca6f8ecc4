// Cutting text on a UTF-8 character boundary (response and dead-letter excerpts).
#include "dispatcher/common/utf8.hpp"

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

TEST(utf8, a_cut_multibyte_character_is_dropped_whole) {
  const std::string text = "ab\xC3\xA9\xE2\x82\xAC";  // "abé€"
  EXPECT_EQ(utf8_prefix_length(text), text.size());
  EXPECT_EQ(utf8_prefix_length(text.substr(0, 6)), 4u);  // inside the euro sign
  EXPECT_EQ(utf8_prefix_length(text.substr(0, 5)), 4u);
  EXPECT_EQ(utf8_prefix_length(text.substr(0, 3)), 2u);  // inside the é
  EXPECT_EQ(utf8_prefix_length(""), 0u);
}

TEST(utf8, prefix_keeps_at_most_the_budget) {
  std::string text(4095, 'a');
  text += "\xC3\xA9";  // é across the 4096th byte
  text += "tail";
  EXPECT_EQ(utf8_prefix(text, 4096), std::string(4095, 'a'));
  EXPECT_EQ(utf8_prefix(text, 4097), std::string(4095, 'a') + "\xC3\xA9");
  EXPECT_EQ(utf8_prefix("short", 4096), "short");
}

TEST(utf8, every_cut_inside_a_four_byte_character_drops_it) {
  const std::string text = "a\xF0\x9F\x98\x80";  // "a😀"
  EXPECT_EQ(utf8_prefix_length(text), 5u);
  for (std::size_t cut = 2; cut < 5; ++cut) {
    EXPECT_EQ(utf8_prefix_length(text.substr(0, cut)), 1u) << cut;
  }
}

TEST(utf8, bytes_that_are_not_utf8_are_left_as_they_are) {
  EXPECT_EQ(utf8_prefix_length("\x80\x80"), 2u);           // continuation bytes only
  EXPECT_EQ(utf8_prefix_length("ab\xFF"), 3u);             // never a lead byte
  EXPECT_EQ(utf8_prefix_length("a\x80\x80\x80\x80"), 5u);  // more than 3 continuations
  EXPECT_EQ(utf8_prefix_length("a\xC3"), 1u);              // a lone lead byte at the end
  EXPECT_EQ(utf8_prefix_length("\xC3\xA9\xC3\xA9"), 4u);   // whole characters: all of it
}

TEST(utf8, prefix_of_a_budget_of_zero_is_empty) {
  EXPECT_EQ(utf8_prefix("abc", 0), "");
  EXPECT_EQ(utf8_prefix("\xC3\xA9", 1), "");
}

}  // namespace
}  // namespace dispatcher
