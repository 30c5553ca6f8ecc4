// Structured logging: each call becomes one JSON object on one line of stderr. The line is
// built in memory and handed to the kernel with a single write(2), so lines from different
// threads do not interleave (a write of up to PIPE_BUF bytes to a pipe is atomic, and files
// and terminals take one write whole). No lock and no buffering: a line logged just before
// a crash is already out.
#include "dispatcher/obs/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

namespace dispatcher::obs {
namespace {

// Relaxed is enough: a thread that sees the old level for a moment prints or skips one
// extra line, nothing else depends on it.
std::atomic<int> min_level{static_cast<int>(level::info)};

const char* level_name(level lvl) {
  switch (lvl) {
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
  }
  return "info";
}

// "2026-11-23T09:41:05.123Z": always with milliseconds, so log timestamps line up in a
// column and sort as text. Local rather than common/time.hpp's formatter, which drops
// zero milliseconds and which logging must not depend on while everything else may log.
void append_timestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                              utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
  if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
}

// JSON string with escapes; invalid UTF-8 (say, a payload excerpt cut mid-character) is
// replaced with U+FFFD rather than throwing, because a log call must never fail.
void append_json_string(std::string& out, std::string_view text) {
  out += nlohmann::json(std::string(text))
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_line(const std::string& line) {
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // stderr is gone; there is nowhere left to report that
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

bool set_log_level(std::string_view name) {
  level lvl;
  if (name == "debug") {
    lvl = level::debug;
  } else if (name == "info") {
    lvl = level::info;
  } else if (name == "warn") {
    lvl = level::warn;
  } else if (name == "error") {
    lvl = level::error;
  } else {
    return false;
  }
  min_level.store(static_cast<int>(lvl), std::memory_order_relaxed);
  return true;
}

namespace {

template <class Fields>
void write_entry(level lvl, std::string_view message, const Fields& fields) {
  if (static_cast<int>(lvl) < min_level.load(std::memory_order_relaxed)) return;

  // Keys are written in a fixed order (ts, level, msg, then fields as given) so lines read
  // well by eye; nlohmann::json objects would sort them.
  std::string line;
  line.reserve(128 + message.size());
  line += "{\"ts\":\"";
  append_timestamp(line);
  line += "\",\"level\":\"";
  line += level_name(lvl);
  line += "\",\"msg\":";
  append_json_string(line, message);
  for (const auto& [key, value] : fields) {
    line += ',';
    append_json_string(line, key);
    line += ':';
    append_json_string(line, value);
  }
  line += "}\n";
  write_line(line);
}

}  // namespace

void log(level lvl, std::string_view message, std::initializer_list<log_field> fields) {
  write_entry(lvl, message, fields);
}

void log_fields(level lvl, std::string_view message,
                const std::vector<std::pair<std::string, std::string>>& fields) {
  write_entry(lvl, message, fields);
}

}  // namespace dispatcher::obs
