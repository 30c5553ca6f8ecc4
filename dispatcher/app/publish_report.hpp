// What `dispatcher publish` decides about each input line and what it prints: pure, so
// the lines, the summary and the exit code are tested without Redis. app/publish.cpp
// reads the lines, sends the XADDs and prints what these return.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher::app {

/// A line to add, or why not: nullopt adds it; "" skips a blank line; otherwise the
/// stream reader's reason for rejecting the event (validated here with its rules, so a
/// bad line is reported to the person publishing it instead of in the dead-letter stream).
std::optional<std::string> line_problem(std::string_view line, std::size_t max_payload);

/// The counts so far and the lines that report them.
struct publish_report {
  std::size_t added = 0;
  std::size_t rejected = 0;

  /// "line 3: added 1700000000000-0" (standard output).
  std::string added_line(std::size_t line_number, std::string_view entry_id);
  /// "line 4: rejected: <reason>" (standard error).
  std::string rejected_line(std::size_t line_number, std::string_view reason);
  /// Redis refused line N's XADD: "line 5: Redis error: <its error>" (standard error).
  static std::string redis_error_line(std::size_t line_number, std::string_view error);
  /// Redis failed at line N: the sentence of the failure, then what was not added.
  std::string stopped_at(std::size_t line_number, std::string_view failure) const;
  /// "2 added, 1 rejected" (standard output), at the end of the input.
  std::string summary() const;
  /// 0 when every line was added, 1 when one was rejected.
  int exit_code() const noexcept { return rejected == 0 ? 0 : 1; }
};

}  // namespace dispatcher::app
