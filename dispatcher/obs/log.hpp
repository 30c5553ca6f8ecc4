// Structured logging: one JSON object a line on stderr, so operators can grep and ship it.
// Secrets are never passed here.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dispatcher::obs {

enum class level { debug, info, warn, error };

/// Sets the minimum level printed; false when the name is not debug/info/warn/error.
bool set_log_level(std::string_view name);

using log_field = std::pair<std::string_view, std::string_view>;

/// {"ts":"<rfc3339>","level":"info","msg":"...", "<key>":"<value>", ...}
void log(level lvl, std::string_view message, std::initializer_list<log_field> fields = {});

/// As log(), with fields known only at run time (the settings in effect at startup).
void log_fields(level lvl, std::string_view message,
                const std::vector<std::pair<std::string, std::string>>& fields);

inline void log_debug(std::string_view m, std::initializer_list<log_field> f = {}) {
  log(level::debug, m, f);
}
inline void log_info(std::string_view m, std::initializer_list<log_field> f = {}) {
  log(level::info, m, f);
}
inline void log_warn(std::string_view m, std::initializer_list<log_field> f = {}) {
  log(level::warn, m, f);
}
inline void log_error(std::string_view m, std::initializer_list<log_field> f = {}) {
  log(level::error, m, f);
}

}  // namespace dispatcher::obs
