// The replay's progress: shown only for a bulk replay on a terminal, and its text.
#include "dispatcher/app/progress.hpp"

#include <gtest/gtest.h>

namespace dispatcher::app {
namespace {

using std::chrono::seconds;

TEST(replay_progress, only_a_bulk_replay_on_a_terminal_shows_it) {
  EXPECT_TRUE(replay_shows_progress(true, false, false));
  EXPECT_FALSE(replay_shows_progress(false, false, false));  // a pipe, a file, cron
  EXPECT_FALSE(replay_shows_progress(true, true, false));    // a dry run is the count itself
  EXPECT_FALSE(replay_shows_progress(true, false, true));    // one delivery: nothing to follow
}

TEST(replay_progress, each_line_replaces_the_last_and_says_the_phase) {
  EXPECT_EQ(progress_line(std::nullopt, seconds(3)), "\r\x1b[Kreplay: counting matches... 3s");
  EXPECT_EQ(progress_line(120000, seconds(12)), "\r\x1b[Kreplay: 120,000 matched, queueing... 12s");
}

TEST(replay_progress, thousands_are_grouped) {
  EXPECT_EQ(group_thousands(0), "0");
  EXPECT_EQ(group_thousands(999), "999");
  EXPECT_EQ(group_thousands(1000), "1,000");
  EXPECT_EQ(group_thousands(1234567), "1,234,567");
  EXPECT_EQ(group_thousands(-1000), "-1,000");
}

}  // namespace
}  // namespace dispatcher::app
