// Where task<T> (common/task.hpp) meets Asio, both ways: a task awaits an Asio awaitable
// (the store implementations ask Redis through the Asio connection), and an Asio
// coroutine awaits a task (the admin server awaits a route). Kept out of task.hpp so that
// the logic library, which writes tasks, never sees Asio. An exception crosses either
// way unchanged.
#pragma once

#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/common/task.hpp"

namespace dispatcher {

/// Inside a task: `co_await on_asio(executor, conn.async_exec(...))`. The awaitable runs
/// on `executor`, and the task resumes there once it is done.
template <class T>
auto on_asio(boost::asio::any_io_executor executor, boost::asio::awaitable<T> op) {
  struct awaiter {
    boost::asio::any_io_executor executor;
    boost::asio::awaitable<T> op;
    std::optional<T> value;
    std::exception_ptr error;

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      boost::asio::co_spawn(executor, std::move(op), [this, h](std::exception_ptr e, T v) {
        if (e) {
          error = e;
        } else {
          value.emplace(std::move(v));
        }
        h.resume();
      });
    }
    T await_resume() {
      if (error) std::rethrow_exception(error);
      return std::move(*value);
    }
  };
  return awaiter{std::move(executor), std::move(op), std::nullopt, nullptr};
}

/// Inside an Asio coroutine: `co_await async_await_task(route(...))`. The Asio coroutine
/// resumes on its own executor once the task is done.
template <class T>
boost::asio::awaitable<T> async_await_task(task<T> t) {
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                 void(std::exception_ptr, T)>(
      [](auto handler, task<T> t) {
        start(std::move(t), [handler = std::move(handler)](std::exception_ptr e, T v) mutable {
          auto executor = boost::asio::get_associated_executor(handler);
          boost::asio::dispatch(executor,
                                [handler = std::move(handler), e, v = std::move(v)]() mutable {
                                  std::move(handler)(e, std::move(v));
                                });
        });
      },
      boost::asio::use_awaitable, std::move(t));
}

}  // namespace dispatcher
