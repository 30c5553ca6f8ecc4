// The operator commands that go through the admin API: replay and dead-letters. Each is a
// coroutine on the command loop (app/command_runtime.hpp) that sends the requests
// app/admin_answers.hpp names through app/admin_client.hpp, and prints what the answers
// mean. Every wait has the command's deadline (CONTRACT §7).
#include "dispatcher/app/commands.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/app/admin_answers.hpp"
#include "dispatcher/app/admin_client.hpp"
#include "dispatcher/app/command_runtime.hpp"
#include "dispatcher/app/progress.hpp"

namespace dispatcher::app {

namespace {

namespace asio = boost::asio;
using verb = boost::beast::http::verb;
using exchange_result = std::variant<api_answer, std::string>;

// Prints what the command has to say and returns its exit code.
int report(const std::string& command, const command_outcome& outcome) {
  std::cout << outcome.out;
  if (outcome.failure) std::cerr << "dispatcher " << command << ": " << *outcome.failure << "\n";
  return outcome.exit_code;
}

int fail(const std::string& command, const std::string& sentence) {
  return report(command, {1, {}, sentence});
}

// Writes line(elapsed) to standard error every second until cancelled (app/progress.hpp).
asio::awaitable<void> async_show_progress(std::function<std::string(std::chrono::seconds)> line) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    std::cerr << line(std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::steady_clock::now() - start))
              << std::flush;
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// The exchange, with the progress line beside it while `show` is true.
asio::awaitable<exchange_result> async_with_progress(
    bool show, asio::awaitable<exchange_result> exchange,
    std::function<std::string(std::chrono::seconds)> line) {
  using namespace asio::experimental::awaitable_operators;
  if (!show) co_return co_await std::move(exchange);
  auto done = co_await (std::move(exchange) || async_show_progress(std::move(line)));
  co_return std::get<0>(std::move(done));
}

asio::awaitable<int> async_replay(asio::any_io_executor executor, const replay_options& options,
                                  admin_api_address api) {
  const std::string command = "replay";
  admin_client client(executor, std::move(api), options.timeout);

  if (options.delivery) {
    const std::string& id = *options.delivery;
    auto answered = co_await client.async_exchange(
        verb::post, "/v1/deliveries/" + path_segment(id) + "/retry", "{}");
    if (auto* failure = std::get_if<std::string>(&answered)) co_return fail(command, *failure);
    co_return report(command,
                     replay_one_outcome(id, std::get<api_answer>(answered), client.name()));
  }

  if (options.endpoint) {
    auto answered = co_await client.async_exchange(
        verb::get, "/v1/endpoints/" + path_segment(*options.endpoint));
    if (auto* failure = std::get_if<std::string>(&answered)) co_return fail(command, *failure);
    if (auto failure = endpoint_check_failure(*options.endpoint, std::get<api_answer>(answered),
                                              client.name())) {
      co_return fail(command, *failure);
    }
  }

  const auto body = replay_request_body(options);
  // On a terminal a large replay shows its progress (app/progress.hpp): the count first
  // (a dry run), then the time spent queueing; in a pipe only the result below.
  const bool progress = replay_shows_progress(::isatty(STDERR_FILENO) == 1, options.dry_run,
                                              options.delivery.has_value());
  std::optional<long long> counted;
  if (progress) {
    auto dry = body;
    dry["dry_run"] = true;
    auto answered = co_await async_with_progress(
        true, client.async_exchange(verb::post, "/v1/deliveries/retry", dry.dump()),
        [](std::chrono::seconds s) { return progress_line(std::nullopt, s); });
    if (auto* failure = std::get_if<std::string>(&answered)) {
      std::cerr << "\r\x1b[K" << std::flush;
      co_return fail(command, *failure);
    }
    counted = matched_count(std::get<api_answer>(answered));
  }
  auto answered = co_await async_with_progress(
      progress, client.async_exchange(verb::post, "/v1/deliveries/retry", body.dump()),
      [&](std::chrono::seconds s) { return progress_line(counted, s); });
  if (progress) std::cerr << "\r\x1b[K" << std::flush;  // the result line replaces it
  if (auto* failure = std::get_if<std::string>(&answered)) co_return fail(command, *failure);
  co_return report(command,
                   replay_outcome(options.dry_run, std::get<api_answer>(answered), client.name()));
}

asio::awaitable<int> async_dead_letters(asio::any_io_executor executor,
                                        const dead_letters_options& options, admin_api_address api,
                                        std::string retry_body) {
  const std::string command = "dead-letters";
  admin_client client(executor, std::move(api), options.timeout);
  const std::string path = "/v1/dead-letters/" + path_segment(options.id);
  using action = dead_letters_options::action;

  exchange_result answered;
  switch (options.act) {
    case action::remove:
      answered = co_await client.async_exchange(verb::delete_, path);
      break;
    case action::retry:
      answered = co_await client.async_exchange(verb::post, path + "/retry", retry_body);
      break;
    case action::list:
      answered = co_await client.async_exchange(
          verb::get, dead_letters_list_target(options.limit, options.cursor));
      break;
  }
  if (auto* failure = std::get_if<std::string>(&answered)) co_return fail(command, *failure);
  const auto& answer = std::get<api_answer>(answered);
  switch (options.act) {
    case action::remove:
      co_return report(command, dead_letter_delete_outcome(options.id, answer, client.name()));
    case action::retry:
      co_return report(command, dead_letter_retry_outcome(options.id, answer, client.name()));
    case action::list:
      break;
  }
  co_return report(command, dead_letters_list_outcome(options.limit, answer, client.name()));
}

// The text of FILE, or of standard input for "-"; nullopt (and errno) when FILE cannot be
// opened.
std::optional<std::string> read_all(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(file);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int run_replay(const replay_options& options, const environment_lookup& env) {
  auto api = admin_api_from(options.url, env);
  if (auto* bad = std::get_if<std::string>(&api)) {
    std::cerr << "dispatcher replay: " << *bad << "\n";
    return 2;
  }
  return run_command([&](asio::any_io_executor executor) {
    return async_replay(executor, options, std::get<admin_api_address>(std::move(api)));
  });
}

int run_dead_letters(const dead_letters_options& options, const environment_lookup& env) {
  // The corrected event is read before anything goes out: a bad file costs no request.
  std::string retry_body = "{}";
  if (options.act == dead_letters_options::action::retry && options.file) {
    const auto text = read_all(*options.file);
    if (!text) {
      return fail("dead-letters", "cannot open " + *options.file + ": " + std::strerror(errno));
    }
    auto body = retry_body_from(*text, *options.file == "-" ? "standard input" : *options.file);
    if (auto* bad = std::get_if<std::string>(&body)) return fail("dead-letters", *bad);
    retry_body = std::get<nlohmann::json>(body).dump();
  }
  auto api = admin_api_from(options.url, env);
  if (auto* bad = std::get_if<std::string>(&api)) {
    std::cerr << "dispatcher dead-letters: " << *bad << "\n";
    return 2;
  }
  return run_command([&](asio::any_io_executor executor) {
    return async_dead_letters(executor, options, std::get<admin_api_address>(std::move(api)),
                              std::move(retry_body));
  });
}

}  // namespace dispatcher::app
