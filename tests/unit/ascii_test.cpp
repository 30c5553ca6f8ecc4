// ASCII case folding (common/ascii.hpp): only A-Z change, so UTF-8 and symbols survive.
#include "dispatcher/common/ascii.hpp"

#include <gtest/gtest.h>

namespace dispatcher {
namespace {

TEST(ascii, lower_changes_only_a_to_z) {
  EXPECT_EQ(ascii_lower("HTTPS://Hooks.Example.COM/Ä"), "https://hooks.example.com/Ä");
  EXPECT_EQ(ascii_lower("@[`{"), "@[`{");  // the neighbours of A-Z and a-z stay
  EXPECT_EQ(ascii_lower(""), "");
}

TEST(ascii, iequals_ignores_only_the_case_of_letters) {
  EXPECT_TRUE(ascii_iequals("Content-Type", "content-TYPE"));
  EXPECT_FALSE(ascii_iequals("content-type", "content-typ"));
  EXPECT_FALSE(ascii_iequals("@", "`"));  // 0x40 and 0x60 differ by the case bit, not letters
  EXPECT_FALSE(ascii_iequals("\xc3\x84", "\xc3\xa4"));  // Ä and ä: not ASCII, not folded
}

}  // namespace
}  // namespace dispatcher
