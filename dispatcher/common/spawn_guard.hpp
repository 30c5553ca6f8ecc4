// The completion handler for co_spawn'ed coroutines: a coroutine that ends with an
// exception is a bug, and it is logged with the coroutine's name instead of vanishing.
#pragma once

#include <exception>

#include "dispatcher/obs/log.hpp"

namespace dispatcher {

/// `what`: a string literal, kept as a pointer; one attempt is spawned per delivery, and a
/// string copy per spawn was an allocation each (issue 9).
inline auto log_exceptions(const char* what) {
  return [what](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      obs::log_error("coroutine ended with an exception", {{"task", what}, {"error", e.what()}});
    } catch (...) {
      obs::log_error("coroutine ended with an unknown exception", {{"task", what}});
    }
  };
}

}  // namespace dispatcher
