// The command line as a plain struct: which command to run and the options given to it.
// Parsing only; nothing here reads files, the environment or prints, so main() decides
// what to do with a usage error (print it with usage_text(topic), exit 2) and the parser
// is tested as a pure function.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dispatcher::app {

/// Bad command line: unknown command or flag, missing or malformed value. main() prints
/// what() and the usage of topic(), then exits 2.
class usage_error : public std::runtime_error {
 public:
  explicit usage_error(const std::string& message, std::string topic = {})
      : std::runtime_error(message), topic_(std::move(topic)) {}
  /// The command whose usage fits the error ("serve", ...), empty for the general usage.
  const std::string& topic() const noexcept { return topic_; }

 private:
  std::string topic_;
};

/// How long a command waits for the admin API or Redis before it gives up (CONTRACT §7).
inline constexpr std::chrono::milliseconds default_command_timeout = std::chrono::seconds(30);
/// The longest --timeout accepted.
inline constexpr std::chrono::milliseconds max_command_timeout = std::chrono::hours(24);

/// `dispatcher replay [DELIVERY_ID]`: requeue deliveries through the admin API.
struct replay_options {
  std::optional<std::string> delivery;    // DELIVERY_ID: replay this one delivery only
  std::optional<std::string> endpoint;    // --endpoint ID: only this endpoint's deliveries
  std::string status = "failed";          // --status: failed or succeeded
  std::optional<std::string> event;       // --event TYPE
  std::optional<std::string> consumer;    // --consumer ID
  std::optional<std::string> connection;  // --connection ID
  std::optional<std::string> since;       // --since T: RFC 3339 or unix seconds, as given
  std::optional<std::string> until;       // --until T
  bool dry_run = false;                   // --dry-run: count only
  std::optional<std::string> url;         // --url: admin API base, overrides DISPATCHER_URL
  /// --timeout: the whole exchange with the admin API (lookup, connect, request, answer).
  std::chrono::milliseconds timeout = default_command_timeout;
};

/// `dispatcher publish [FILE|-]`: add events, one JSON object a line, to the stream.
struct publish_options {
  std::string file = "-";  // "-" reads standard input
  /// --timeout: the connection (lookup, connect, AUTH/SELECT together), then each command,
  /// so a long file is not cut short while a Redis that stops answering still ends it.
  std::chrono::milliseconds timeout = default_command_timeout;
};

/// `dispatcher dead-letters [list]`, `... retry ID [FILE|-]`, `... delete ID`: the
/// dead-letter stream through the admin API.
struct dead_letters_options {
  enum class action { list, retry, remove };
  action act = action::list;
  std::string id;                     // retry, delete: the dead letter's id (a stream entry id)
  std::optional<std::string> file;    // retry: the corrected event from FILE, "-" for stdin
  std::size_t limit = 50;             // list --limit N: at most N, newest first
  std::optional<std::string> cursor;  // list --cursor C: continue after a previous list
  std::optional<std::string> url;     // --url: admin API base, overrides DISPATCHER_URL
  /// --timeout: the whole exchange with the admin API.
  std::chrono::milliseconds timeout = default_command_timeout;
};

/// `dispatcher help [COMMAND]`.
struct help_options {
  std::string topic;  // empty, "serve", "replay", "publish", "dead-letters" or "help"
};

struct command_line {
  enum class command { serve, replay, publish, dead_letters, help, version };
  command cmd = command::help;
  /// --config FILE (serve, publish).
  std::optional<std::string> config_file;
  /// Setting flags keyed by the lower_snake setting name ("request_timeout" for
  /// --request-timeout), ready for config::load_settings.
  std::map<std::string, std::string> setting_flags;
  replay_options replay;
  publish_options publish;
  dead_letters_options dead_letters;
  help_options help;
};

/// Parses argv (argv[0] is the program). Throws usage_error for an unknown command or flag,
/// a missing value or a value that can be rejected without I/O.
command_line parse_command_line(int argc, const char* const argv[]);

/// The text of `dispatcher help [topic]`; the general usage for an empty or unknown topic.
std::string usage_text(std::string_view topic);

}  // namespace dispatcher::app
