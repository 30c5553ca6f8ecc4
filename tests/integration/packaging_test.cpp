// compose.yaml and the Dockerfile, checked without a container runtime (none in CI):
// tests/packaging/check_packaging.py parses compose.yaml (python3-yaml) and checks what
// `docker compose up` relies on, and the Dockerfile's runtime stage.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace {

TEST(Packaging, compose_and_dockerfile_have_what_the_demo_needs) {
  const std::string source = DISPATCHER_SOURCE_DIR;
  const std::string command =
      "python3 '" + source + "/tests/packaging/check_packaging.py' '" + source + "' 2>&1";
  std::string out;
  int status = -1;
  if (std::FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, p)) out += buffer;
    status = ::pclose(p);
  }
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
}

}  // namespace
