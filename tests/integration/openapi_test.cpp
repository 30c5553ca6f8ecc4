// GET /openapi.yaml: the document in schemas/ served as built into the binary, without a
// token. That every answer of the API matches it is checked over the whole integration
// suite (tests/contract/openapi_check.py responses, run after these tests by ctest).
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

TEST(OpenApi, the_document_is_served_byte_for_byte_without_a_token) {
  redis_server redis;
  in_process_dispatcher service(test_settings(redis.url()));
  std::ifstream in(std::string(DISPATCHER_SOURCE_DIR) + "/schemas/openapi.yaml", std::ios::binary);
  std::ostringstream file;
  file << in.rdbuf();
  ASSERT_GT(file.str().size(), 1000u);

  const auto r = http_request(service.port(), "GET", "/openapi.yaml", {}, {});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/yaml");
  EXPECT_EQ(r.body, file.str());

  const auto head = http_request(service.port(), "HEAD", "/openapi.yaml", {}, {});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(http_request(service.port(), "POST", "/openapi.yaml", "{}", {}).status, 405);
}

}  // namespace
}  // namespace dispatcher::testing
