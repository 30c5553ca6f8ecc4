// The setting flags of serve and publish (--redis-url, ...): one per field of
// config::settings, named after it. See setting_flags.cpp.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "dispatcher/config/settings.hpp"

namespace dispatcher::app {

struct setting_flag {
  std::string_view name;        // lower_snake setting name
  std::string_view value_name;  // shown in the help, e.g. HOST:PORT
  std::string_view help;
  // The default as text, taken from config::settings so the help cannot go stale.
  std::function<std::string(const config::settings&)> default_text;
};

/// Every setting flag, in the order of config::settings.
const std::vector<setting_flag>& setting_flags();

// The settings publish needs: where the stream is and how large an event may be.
inline constexpr std::array<std::string_view, 4> publish_settings{"redis_url", "stream",
                                                                  "max_payload", "log_level"};

/// "max_payload" -> "max-payload", the flag's spelling.
std::string dashed(std::string_view name);

/// "max_payload" -> "DISPATCHER_MAX_PAYLOAD", the environment variable.
std::string env_name(std::string_view name);

}  // namespace dispatcher::app
