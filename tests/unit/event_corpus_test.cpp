// The event corpus (tests/corpus: valid/ and invalid/, one payload a file, covering every
// rule of CONTRACT section 1) judged by the C++ validator. tests/contract/corpus_check.py
// judges the same files by schemas/*.schema.json, so the validator and the schemas
// cannot drift apart without one of the two failing.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "dispatcher/config/settings.hpp"
#include "dispatcher/ingest/event.hpp"

namespace dispatcher::ingest {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus(const char* kind) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(DISPATCHER_CORPUS_DIR) / kind)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The default DISPATCHER_MAX_PAYLOAD, which the corpus's size cases are cut to.
const std::size_t corpus_max_payload = config::settings{}.max_payload;

TEST(event_corpus, every_valid_event_is_accepted) {
  const auto files = corpus("valid");
  ASSERT_GE(files.size(), 10u);
  for (const auto& path : files) {
    auto result = parse_event(read_bytes(path), "1700000000000-0", corpus_max_payload);
    if (auto* error = std::get_if<validation_error>(&result)) {
      ADD_FAILURE() << path.filename() << " refused: " << error->message;
    }
  }
}

TEST(event_corpus, every_invalid_event_is_refused) {
  const auto files = corpus("invalid");
  ASSERT_GE(files.size(), 10u);
  for (const auto& path : files) {
    auto result = parse_event(read_bytes(path), "1700000000000-0", corpus_max_payload);
    EXPECT_TRUE(std::holds_alternative<validation_error>(result)) << path.filename() << " accepted";
  }
}

}  // namespace
}  // namespace dispatcher::ingest
