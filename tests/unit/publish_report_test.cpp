// What `dispatcher publish` does with each line and what it prints: the lines, the summary
// and the exit code, without Redis.
#include "dispatcher/app/publish_report.hpp"

#include <gtest/gtest.h>

namespace dispatcher::app {
namespace {

const std::string valid =
    R"({"event":"account.connection.created","accountid":"0b7c1f0e-6a0e-4d0a-9d5e-1f3a2b4c5d6e",)"
    R"("consumerid":"8f14e45f-ceea-4c6e-9a1b-2c3d4e5f6a7b",)"
    R"("connectionid":"c9f0f895-fb98-4b91-8c3a-1d2e3f4a5b6c","status":"active",)"
    R"("created":1700000000})";

TEST(publish_report, a_valid_event_is_added_a_blank_line_skipped_a_bad_one_rejected) {
  EXPECT_EQ(line_problem(valid, 65536), std::nullopt);
  EXPECT_EQ(line_problem("", 65536), "");
  EXPECT_EQ(line_problem(" \t\r", 65536), "");
  const auto bad = line_problem(R"({"event":"account.connection.created"})", 65536);
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->empty());
  EXPECT_TRUE(line_problem("not json", 65536).value_or("").size() > 0);
  // The stream reader's own size limit.
  EXPECT_TRUE(line_problem(valid, valid.size() - 1).value_or("").size() > 0);
}

TEST(publish_report, each_line_says_what_became_of_it_and_the_summary_counts) {
  publish_report report;
  EXPECT_EQ(report.added_line(1, "1700000000000-0"), "line 1: added 1700000000000-0\n");
  EXPECT_EQ(report.rejected_line(2, "field 'consumerid' must be a UUID"),
            "line 2: rejected: field 'consumerid' must be a UUID\n");
  EXPECT_EQ(report.added_line(4, "1700000000000-1"), "line 4: added 1700000000000-1\n");
  EXPECT_EQ(report.summary(), "2 added, 1 rejected\n");
  EXPECT_EQ(report.exit_code(), 1);
  EXPECT_EQ(publish_report::redis_error_line(5, "OOM command not allowed"),
            "line 5: Redis error: OOM command not allowed\n");
}

TEST(publish_report, every_line_added_exits_0) {
  publish_report report;
  EXPECT_EQ(report.summary(), "0 added, 0 rejected\n");
  EXPECT_EQ(report.exit_code(), 0);
  report.added_line(1, "1-0");
  EXPECT_EQ(report.exit_code(), 0);
}

TEST(publish_report, a_redis_failure_says_which_lines_were_not_added) {
  publish_report report;
  report.added_line(1, "1-0");
  report.added_line(2, "1-1");
  EXPECT_EQ(report.stopped_at(3, "Redis at 127.0.0.1:6379 did not answer within 1s"),
            "Redis at 127.0.0.1:6379 did not answer within 1s; line 3 and those after it were "
            "not added (2 added)");
}

}  // namespace
}  // namespace dispatcher::app
