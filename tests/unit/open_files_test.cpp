// serve's open files: what DISPATCHER_MAX_IN_FLIGHT needs, the warning when the limit is
// short of it, and the soft limit raised to the hard one.
#include "dispatcher/app/open_files.hpp"

#include <sys/resource.h>

#include <gtest/gtest.h>

namespace dispatcher::app {
namespace {

TEST(open_files, the_need_counts_attempts_idle_connections_and_the_rest) {
  EXPECT_EQ(open_files_needed(512), 512u + 512u + 64u);
  EXPECT_EQ(open_files_needed(8), 8u + 32u + 64u);  // an origin keeps 32 idle at least
}

TEST(open_files, a_short_limit_is_warned_about_naming_the_setting) {
  EXPECT_FALSE(open_files_warning(1088, 512));
  const auto warning = open_files_warning(1024, 512);
  ASSERT_TRUE(warning);
  EXPECT_EQ(warning->rfind("DISPATCHER_MAX_IN_FLIGHT 512 may need 1088 open files", 0), 0u)
      << *warning;
  EXPECT_NE(warning->find("the limit is 1024"), std::string::npos) << *warning;
}

TEST(open_files, the_soft_limit_is_raised_to_the_hard_one) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_max != RLIM_INFINITY && original.rlim_max < 65) GTEST_SKIP() << "hard limit";
  rlimit lowered = original;
  lowered.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const auto raised = raise_open_files_limit();
  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  ::setrlimit(RLIMIT_NOFILE, &original);
  ASSERT_TRUE(raised);
  EXPECT_EQ(raised->before, 64u);
  EXPECT_EQ(now.rlim_cur, original.rlim_max);
  if (original.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(raised->now, original.rlim_max);
  }
}

}  // namespace
}  // namespace dispatcher::app
