// A lazy coroutine, task<T>, that knows nothing of Asio: it starts when awaited, hands its
// value (or exception) to the coroutine awaiting it, and resumes that one directly
// (symmetric transfer, so chains of awaits do not grow the stack). Decisions that must
// ask something on their way, such as the admin routes asking their store, are written
// as task coroutines against a plain interface, so they live in the logic library and are
// unit-tested with a fake that answers at once. The I/O side joins them to Asio in
// common/asio_task.hpp.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace dispatcher {

template <class T>
class task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::exception_ptr error;
    std::coroutine_handle<> continuation = std::noop_coroutine();

    task get_return_object() {
      return task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    auto final_suspend() noexcept {
      struct resume_awaiter {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
          return h.promise().continuation;
        }
        void await_resume() noexcept {}
      };
      return resume_awaiter{};
    }
    void return_value(const T& v) { value.emplace(v); }
    void return_value(T&& v) { value.emplace(std::move(v)); }
    void unhandled_exception() noexcept { error = std::current_exception(); }
  };

  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    handle_.promise().continuation = awaiting;
    return handle_;
  }
  T await_resume() {
    auto& p = handle_.promise();
    if (p.error) std::rethrow_exception(p.error);
    return std::move(*p.value);
  }

 private:
  explicit task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

// A coroutine nobody awaits: it runs from its start until it ends and frees itself.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    // start() catches everything, so nothing reaches here.
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

}  // namespace detail

/// Runs `t` to its end, then calls done(error, value): the value when it returned, the
/// exception (and a default T) when it threw. The way in from code that is not itself a
/// task: the Asio bridge, and the unit tests (with a fake that never suspends, done is
/// called before start returns).
template <class T, class Done>
void start(task<T> t, Done done) {
  [](task<T> t, Done done) -> detail::detached {
    std::exception_ptr error;
    std::optional<T> value;
    try {
      value.emplace(co_await std::move(t));
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      done(error, T{});
    } else {
      done(nullptr, std::move(*value));
    }
  }(std::move(t), std::move(done));
}

}  // namespace dispatcher
