// Cutting text on a UTF-8 character boundary (response and dead-letter excerpts).
#include "dispatcher/common/utf8.hpp"

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

TEST(Utf8, a_cut_multibyte_character_is_dropped_whole) {
  const std::string text = "ab\xC3\xA9\xE2\x82\xAC";  // "abé€"
  EXPECT_EQ(utf8_prefix_length(text), text.size());
  EXPECT_EQ(utf8_prefix_length(text.substr(0, 6)), 4u);  // inside the euro sign
  EXPECT_EQ(utf8_prefix_length(text.substr(0, 5)), 4u);
  EXPECT_EQ(utf8_prefix_length(text.substr(0, 3)), 2u);  // inside the é
  EXPECT_EQ(utf8_prefix_length(""), 0u);
}

TEST(Utf8, prefix_keeps_at_most_the_budget) {
  std::string text(4095, 'a');
  text += "\xC3\xA9";  // é across the 4096th byte
  text += "tail";
  EXPECT_EQ(utf8_prefix(text, 4096), std::string(4095, 'a'));
  EXPECT_EQ(utf8_prefix(text, 4097), std::string(4095, 'a') + "\xC3\xA9");
  EXPECT_EQ(utf8_prefix("short", 4096), "short");
}

}  // namespace
}  // namespace dispatcher
