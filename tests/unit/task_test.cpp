// task<T> (common/task.hpp), the Asio-free coroutine the admin routes are written in: a
// value and an exception reach the awaiting coroutine, nothing runs before it is awaited,
// and nested tasks return through every level.
#include "dispatcher/common/task.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace dispatcher {
namespace {

task<int> answer(int v, int& started) {
  ++started;
  co_return v;
}

task<int> sum_of_two(int& started) {
  const int a = co_await answer(20, started);
  const int b = co_await answer(22, started);
  co_return a + b;
}

task<std::string> fails() {
  throw std::runtime_error("no");
  co_return std::string();
}

task<int> countdown(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await countdown(n - 1);
}

template <class T>
std::pair<std::optional<T>, std::exception_ptr> run(task<T> t) {
  std::pair<std::optional<T>, std::exception_ptr> out;
  start(std::move(t), [&](std::exception_ptr e, T v) {
    out.second = e;
    if (!e) out.first = std::move(v);
  });
  return out;
}

TEST(task, is_lazy_and_hands_its_value_to_the_awaiting_coroutine) {
  int started = 0;
  auto t = sum_of_two(started);
  EXPECT_EQ(started, 0);
  auto [value, error] = run(std::move(t));
  EXPECT_EQ(started, 2);
  EXPECT_FALSE(error);
  EXPECT_EQ(value, 42);
}

TEST(task, an_exception_reaches_the_awaiting_coroutine) {
  auto [value, error] = run(fails());
  EXPECT_FALSE(value);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
}

TEST(task, nested_tasks_return_through_every_level) {
  auto [value, error] = run(countdown(1000));
  EXPECT_FALSE(error);
  EXPECT_EQ(value, 1000);
}

}  // namespace
}  // namespace dispatcher
