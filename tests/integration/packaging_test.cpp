// compose.yaml and the Dockerfile, checked without a container runtime (none in CI):
// tests/packaging/check_packaging.py parses compose.yaml (python3-yaml) and checks what
// `docker compose up` relies on, and the Dockerfile's runtime stage, which must install
// the package of every shared library the built binary links.
#include <string>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace {

TEST(Packaging, compose_and_dockerfile_have_what_the_demo_needs) {
  const std::string source = DISPATCHER_SOURCE_DIR;
  const std::string command = "python3 '" + source + "/tests/packaging/check_packaging.py' '" +
                              source + "' '" + DISPATCHER_BINARY + "' 2>&1";
  const auto check = dispatcher::testing::run_shell(command);
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

}  // namespace
