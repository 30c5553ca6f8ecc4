// The messages of errc, apart from the enum so a new code is one line in each file and the
// header stays cheap to include everywhere.
#include "dispatcher/common/error.hpp"

#include <string>

namespace dispatcher {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "dispatcher"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::redis_not_connected:
        return "not connected to Redis";
      case errc::redis_timeout:
        return "Redis did not answer in time";
      case errc::redis_protocol:
        return "Redis sent a malformed reply";
      case errc::redis_error_reply:
        return "Redis answered with an error";
      case errc::redis_overloaded:
        return "too many Redis commands in flight";
      case errc::shutting_down:
        return "shutting down";
    }
    return "unknown dispatcher error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace dispatcher
