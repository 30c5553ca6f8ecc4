// publish's decisions and lines; see publish_report.hpp.
#include "dispatcher/app/publish_report.hpp"

#include <variant>

#include "dispatcher/ingest/event.hpp"

namespace dispatcher::app {

std::optional<std::string> line_problem(std::string_view line, std::size_t max_payload) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::string();
  auto parsed = ingest::parse_event(line, "cli", max_payload);
  if (auto* bad = std::get_if<ingest::validation_error>(&parsed)) return bad->message;
  return std::nullopt;
}

std::string publish_report::added_line(std::size_t line_number, std::string_view entry_id) {
  ++added;
  return "line " + std::to_string(line_number) + ": added " + std::string(entry_id) + "\n";
}

std::string publish_report::rejected_line(std::size_t line_number, std::string_view reason) {
  ++rejected;
  return "line " + std::to_string(line_number) + ": rejected: " + std::string(reason) + "\n";
}

std::string publish_report::redis_error_line(std::size_t line_number, std::string_view error) {
  return "line " + std::to_string(line_number) + ": Redis error: " + std::string(error) + "\n";
}

std::string publish_report::stopped_at(std::size_t line_number, std::string_view failure) const {
  return std::string(failure) + "; line " + std::to_string(line_number) +
         " and those after it were not added (" + std::to_string(added) + " added)";
}

std::string publish_report::summary() const {
  return std::to_string(added) + " added, " + std::to_string(rejected) + " rejected\n";
}

}  // namespace dispatcher::app
