// Taking the oldest of a queue kept in a vector (common/take_front.hpp).
#include "dispatcher/common/take_front.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace dispatcher {
namespace {

std::vector<std::unique_ptr<int>> numbered(int count) {
  std::vector<std::unique_ptr<int>> out;
  for (int i = 1; i <= count; ++i) out.push_back(std::make_unique<int>(i));
  return out;
}

// Move-only elements: what is taken is moved, never copied, and what stays keeps its order.
TEST(take_front, takes_the_oldest_in_order_and_leaves_the_rest) {
  auto queue = numbered(5);
  const auto taken = take_front(queue, 2);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(*taken[0], 1);
  EXPECT_EQ(*taken[1], 2);
  ASSERT_EQ(queue.size(), 3u);
  EXPECT_EQ(*queue[0], 3);
  EXPECT_EQ(*queue[2], 5);
}

TEST(take_front, takes_everything_when_no_more_than_asked_waits) {
  auto queue = numbered(3);
  const int* first = queue.front().get();
  const auto taken = take_front(queue, 3);
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken.front().get(), first);
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(take_front(queue, 4).empty());
}

}  // namespace
}  // namespace dispatcher
