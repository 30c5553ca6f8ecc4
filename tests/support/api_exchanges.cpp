#include "tests/support/api_exchanges.hpp"

#include <unistd.h>

#include <fstream>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dispatcher::testing {

void record_api_exchange(const std::string& method, const std::string& target, int status,
                         const std::string& content_type, const std::string& body) {
#ifdef DISPATCHER_API_EXCHANGES_DIR
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test =
      info ? std::string(info->test_suite_name()) + "." + info->name() : std::string("(none)");
  const nlohmann::json line = {{"test", test},
                               {"method", method},
                               {"target", target},
                               {"status", status},
                               {"content_type", content_type},
                               {"body", body}};
  // Tests call the API from several threads; each process writes a file of its own.
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  std::ofstream out(
      std::string(DISPATCHER_API_EXCHANGES_DIR) + "/" + std::to_string(::getpid()) + ".jsonl",
      std::ios::app);
  out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
#else
  (void)method, (void)target, (void)status, (void)content_type, (void)body;
#endif
}

}  // namespace dispatcher::testing
