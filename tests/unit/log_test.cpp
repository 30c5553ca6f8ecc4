// Structured logging: one well-formed JSON object a line, fields escaped, levels filtered.
// stderr is pointed at a temporary file for the duration of each capture.
#include "dispatcher/obs/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dispatcher::obs {
namespace {

// Runs `body` with stderr redirected and returns the lines it wrote.
std::vector<std::string> capture_stderr(const std::function<void()>& body) {
  std::FILE* file = std::tmpfile();
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(file), STDERR_FILENO);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);

  std::string text;
  std::rewind(file);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  std::fclose(file);

  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class structured_log : public ::testing::Test {
 protected:
  void TearDown() override { set_log_level("info"); }
};

TEST_F(structured_log, writes_one_json_object_a_line) {
  const auto lines = capture_stderr([] {
    log_info("delivery failed", {{"endpoint_id", "ep_1"}, {"status", "503"}});
  });
  ASSERT_EQ(lines.size(), 1u);
  const auto line = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "delivery failed");
  EXPECT_EQ(line["endpoint_id"], "ep_1");
  EXPECT_EQ(line["status"], "503");
  // "2026-11-23T09:41:05.123Z"
  const std::string ts = line["ts"];
  ASSERT_EQ(ts.size(), 24u) << ts;
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts.back(), 'Z');
  EXPECT_EQ(lines[0].rfind("{\"ts\":", 0), 0u) << "ts comes first";
}

TEST_F(structured_log, escapes_quotes_newlines_and_bad_utf8) {
  const auto lines = capture_stderr([] {
    log_warn("say \"hi\"\nthen go", {{"excerpt", "\xff\xfe broken"}, {"tab", "a\tb"}});
  });
  ASSERT_EQ(lines.size(), 1u);
  const auto line = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(line["msg"], "say \"hi\"\nthen go");
  EXPECT_EQ(line["tab"], "a\tb");
  EXPECT_NE(line["excerpt"].get<std::string>().find("broken"), std::string::npos);
}

TEST_F(structured_log, level_filter_drops_lower_levels) {
  EXPECT_TRUE(set_log_level("warn"));
  const auto lines = capture_stderr([] {
    log_debug("d");
    log_info("i");
    log_warn("w");
    log_error("e");
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["level"], "warn");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["level"], "error");
}

TEST_F(structured_log, unknown_level_name_is_refused) {
  EXPECT_FALSE(set_log_level("verbose"));
  EXPECT_TRUE(set_log_level("debug"));
  const auto lines = capture_stderr([] { log_debug("shown"); });
  EXPECT_EQ(lines.size(), 1u);
}

TEST_F(structured_log, fields_known_at_run_time_keep_their_order_and_level) {
  const std::vector<std::pair<std::string, std::string>> fields{{"stream", "s"}, {"batch", "7"}};
  const auto lines = capture_stderr([&] {
    log_fields(level::info, "settings in effect", fields);
    set_log_level("warn");
    log_fields(level::info, "dropped", fields);
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"("msg":"settings in effect","stream":"s","batch":"7"})"),
            std::string::npos)
      << lines[0];
}

}  // namespace
}  // namespace dispatcher::obs
