// The operator commands that talk to a running system: publish (hiredis, blocking) and
// replay (one HTTP exchange with the admin API). Every wait on the network has a deadline
// (CONTRACT §7): a Redis or an admin API that accepts the connection and then says nothing
// ends the command with exit code 1 and a sentence naming what did not answer, instead of
// leaving an operator's terminal or a cron job hanging. Failures are reported as sentences
// built from error codes, never as exception texts that carry Boost source locations.
#include "dispatcher/app/commands.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include <hiredis/hiredis.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "dispatcher/app/progress.hpp"
#include "dispatcher/common/json.hpp"
#include "dispatcher/common/target.hpp"
#include "dispatcher/config/duration.hpp"
#include "dispatcher/ingest/event.hpp"

namespace dispatcher::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// "Connection refused" -> "connection refused", to sit inside a sentence.
std::string lowercase_first(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

std::string within(std::chrono::milliseconds timeout) {
  return "within " + config::format_duration(timeout);
}

// -- name lookup --------------------------------------------------------------------

// The addresses of host, or the sentence saying why there are none.
using lookup_result = std::variant<std::vector<tcp::endpoint>, std::string>;

/// Resolves host within the timeout. getaddrinfo cannot be cancelled, and asio's
/// resolver joins its lookup thread when its io_context goes away, which would hold the
/// process as long as the lookup. So a name is looked up on a detached thread whose
/// result is abandoned at the deadline; the command then ends and the thread with it.
lookup_result resolve_within(const std::string& host, std::uint16_t port,
                             std::chrono::milliseconds timeout) {
  error_code literal_ec;
  const auto literal = asio::ip::make_address(host, literal_ec);
  if (!literal_ec) return std::vector<tcp::endpoint>{tcp::endpoint(literal, port)};

  struct lookup {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
  };
  auto state = std::make_shared<lookup>();
  std::thread([state, host, port] {
    asio::io_context io;
    tcp::resolver resolver(io);
    error_code ec;
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    {
      const std::lock_guard lock(state->mutex);
      state->ec = ec;
      state->endpoints = std::move(endpoints);
      state->done = true;
    }
    state->done_cv.notify_all();
  }).detach();

  std::unique_lock lock(state->mutex);
  if (!state->done_cv.wait_for(lock, timeout, [&] { return state->done; })) {
    return "the lookup of " + host + " did not answer " + within(timeout);
  }
  const auto& ec = state->ec;
  const bool unknown_name = ec == asio::error::host_not_found ||
                            ec == asio::error::host_not_found_try_again ||
                            ec == asio::error::no_data;
  if (ec && !unknown_name) {
    return "cannot resolve host " + host + ": " + lowercase_first(ec.message());
  }
  if (state->endpoints.empty()) return "cannot resolve host " + host;
  return std::move(state->endpoints);
}

// -- publish: blocking hiredis with a timeout on every socket call --------------------

struct redis_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using context_ptr = std::unique_ptr<redisContext, redis_deleter>;
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

/// A blocking hiredis connection whose every read and write gives up after the timeout
/// (SO_RCVTIMEO/SO_SNDTIMEO through redisSetTimeout), so each command is bounded.
class redis_link {
 public:
  redis_link(std::string where, std::chrono::milliseconds timeout)
      : where_(std::move(where)), timeout_(timeout) {}

  const std::string& where() const noexcept { return where_; }

  /// Connects to the first address that accepts; the sentence of the last failure if none.
  std::optional<std::string> connect(const std::vector<tcp::endpoint>& endpoints) {
    std::string failure = "cannot connect to " + where_;
    for (const auto& endpoint : endpoints) {
      const timeval tv = to_timeval(timeout_);
      context_ptr c(
          redisConnectWithTimeout(endpoint.address().to_string().c_str(), endpoint.port(), tv));
      // hiredis 0.14 reports a connect that timed out as an I/O error with ETIMEDOUT.
      const int saved_errno = errno;
      if (!c) return "cannot connect to " + where_ + ": out of memory";
      if (c->err == 0 && redisSetTimeout(c.get(), tv) == REDIS_OK) {
        context_ = std::move(c);
        return std::nullopt;
      }
      failure = timed_out(c.get(), saved_errno)
                    ? where_ + " did not accept the connection " + within(timeout_)
                    : "cannot connect to " + where_ + ": " + lowercase_first(c->errstr);
    }
    return failure;
  }

  /// The reply, or the sentence saying why there is none. An error reply is a reply.
  std::variant<reply_ptr, std::string> run(std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (auto a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    errno = 0;
    auto* raw = static_cast<redisReply*>(redisCommandArgv(
        context_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()));
    const int saved_errno = errno;
    if (raw != nullptr) return reply_ptr(raw);
    if (timed_out(context_.get(), saved_errno)) {
      return where_ + " did not answer " + within(timeout_);
    }
    if (context_->err == REDIS_ERR_EOF) return where_ + " closed the connection";
    return "lost the connection to " + where_ + ": " + lowercase_first(context_->errstr);
  }

 private:
  static timeval to_timeval(std::chrono::milliseconds d) {
    return {static_cast<time_t>(d.count() / 1000),
            static_cast<suseconds_t>(d.count() % 1000 * 1000)};
  }

  // A socket timeout surfaces from hiredis 0.14 as a plain I/O error; errno tells it apart
  // (EAGAIN from a read or write past SO_RCVTIMEO/SO_SNDTIMEO, ETIMEDOUT from connect).
  static bool timed_out(const redisContext* c, int saved_errno) {
    return c->err == REDIS_ERR_IO &&
           (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT);
  }

  std::string where_;
  std::chrono::milliseconds timeout_;
  context_ptr context_;
};

// -- replay: one HTTP exchange, every step under one deadline --------------------------

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// Connects, writes the request and reads the answer into `out`, or puts the sentence of
/// the failure into `failure`. Beast's tcp_stream enforces its expiry only on
/// asynchronous operations, hence a coroutine on a local io_context; the expiry is set
/// once, so connect, write and read share the one deadline.
asio::awaitable<void> async_exchange(beast::tcp_stream& stream,
                                     const std::vector<tcp::endpoint>& endpoints,
                                     steady::time_point deadline, http_request& req,
                                     http_response& out, std::string& failure,
                                     const std::string& who, std::chrono::milliseconds timeout) {
  const std::string silent = who + " did not answer " + within(timeout);
  stream.expires_at(deadline);
  if (auto [ec, ep] = co_await stream.async_connect(endpoints, use_tuple); ec) {
    failure = ec == beast::error::timeout
                  ? who + " did not accept the connection " + within(timeout)
                  : "cannot connect to " + who + ": " + lowercase_first(ec.message());
    co_return;
  }
  const std::string hung_up = who + " closed the connection without answering";
  if (auto [ec, n] = co_await http::async_write(stream, req, use_tuple); ec) {
    if (ec == beast::error::timeout) {
      failure = silent;
    } else if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) {
      failure = hung_up;
    } else {
      failure = "lost the connection to " + who + ": " + lowercase_first(ec.message());
    }
    co_return;
  }
  beast::flat_buffer buffer;
  if (auto [ec, n] = co_await http::async_read(stream, buffer, out, use_tuple); ec) {
    if (ec == beast::error::timeout) {
      failure = silent;
    } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
               ec == asio::error::connection_reset) {
      failure = hung_up;
    } else {
      failure = who + " sent an answer that is not HTTP: " + lowercase_first(ec.message());
    }
    co_return;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// An id as one path segment: anything but unreserved characters percent-encoded, so an
// operator's typo cannot change the path it is put in.
std::string path_segment(std::string_view id) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : id) {
    const auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 0x0f];
    }
  }
  return out;
}

// The API's own error message when the body is its JSON error, else the body itself.
std::string api_error_text(const http_response& res) {
  const auto body = nlohmann::json::parse(res.body(), nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& error = body["error"];
    if (error.contains("message") && error["message"].is_string()) {
      return error["message"].get<std::string>();
    }
  }
  constexpr std::size_t shown = 200;
  return res.body().size() > shown ? res.body().substr(0, shown) + "..." : res.body();
}

// -- the admin API as the commands reach it ------------------------------------------

/// Where the admin API is (--url, else DISPATCHER_URL), the token, and one deadline for the
/// whole command, however many requests it makes.
class admin_client {
 public:
  admin_client(std::string url, dispatcher::target target, std::string token,
               std::vector<tcp::endpoint> endpoints, std::chrono::milliseconds timeout,
               steady::time_point deadline)
      : who_("the admin API at " + url),
        target_(std::move(target)),
        token_(std::move(token)),
        endpoints_(std::move(endpoints)),
        timeout_(timeout),
        deadline_(deadline) {}

  /// "the admin API at http://...", the subject of the sentences that report failures.
  const std::string& who() const noexcept { return who_; }

  /// One request and its answer; a non-empty result says why there is no answer.
  std::string exchange(http::verb method, const std::string& path, const std::string& body,
                       http_response& res) const {
    http_request req{method, path, 11};
    req.set(http::field::host, target_.host);
    req.set(http::field::authorization, "Bearer " + token_);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    std::string failure;
    asio::io_context io;
    beast::tcp_stream stream(io);
    asio::co_spawn(io,
                   async_exchange(stream, endpoints_, deadline_, req, res, failure, who_, timeout_),
                   asio::detached);
    io.run();
    return failure;
  }

 private:
  std::string who_;
  dispatcher::target target_;
  std::string token_;
  std::vector<tcp::endpoint> endpoints_;
  std::chrono::milliseconds timeout_;
  steady::time_point deadline_;
};

/// Reads --url or DISPATCHER_URL and DISPATCHER_ADMIN_TOKEN and looks the host up. On a
/// failure it prints "dispatcher <command>: <why>" and returns the exit code: 2 for a
/// missing token or a bad URL, 1 when the lookup failed.
std::variant<admin_client, int> open_admin_client(
    const std::string& command, const std::optional<std::string>& url_flag,
    std::chrono::milliseconds timeout,
    const std::function<std::optional<std::string>(const std::string&)>& env) {
  const auto deadline = steady::now() + timeout;
  const std::string prefix = "dispatcher " + command + ": ";
  const std::string url =
      url_flag.value_or(env("DISPATCHER_URL").value_or("http://127.0.0.1:8080"));
  const std::string token = env("DISPATCHER_ADMIN_TOKEN").value_or("");
  if (token.empty()) {
    std::cerr << prefix << "DISPATCHER_ADMIN_TOKEN is not set\n";
    return 2;
  }
  auto parsed = dispatcher::parse_target(url);
  if (auto* bad = std::get_if<std::string>(&parsed)) {
    std::cerr << prefix << "DISPATCHER_URL: " << *bad << "\n";
    return 2;
  }
  auto& target = std::get<dispatcher::target>(parsed);
  if (target.tls) {
    std::cerr << prefix << "DISPATCHER_URL: the admin API is served over http\n";
    return 2;
  }
  auto resolved = resolve_within(target.host, target.port, timeout);
  if (auto* bad = std::get_if<std::string>(&resolved)) {
    std::cerr << prefix << *bad << "\n";
    return 1;
  }
  return admin_client(url, std::move(target), token,
                      std::get<std::vector<tcp::endpoint>>(std::move(resolved)), timeout, deadline);
}

// Control characters of a stored payload shown as spaces: it was written by whoever
// produced the bad entry, and must not be able to drive the operator's terminal.
std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string string_member(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

int run_publish(const publish_options& options, const config::settings& settings) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (options.file != "-") {
    file.open(options.file);
    if (!file) {
      std::cerr << "dispatcher publish: cannot open " << options.file << ": "
                << std::strerror(errno) << "\n";
      return 1;
    }
    in = &file;
  }
  const auto address = config::parse_redis_url(settings.redis_url);
  const std::string host_text =
      address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  redis_link redis("Redis at " + host_text + ":" + std::to_string(address.port), options.timeout);
  const auto fail = [](const std::string& sentence) {
    std::cerr << "dispatcher publish: " << sentence << "\n";
    return 1;
  };

  auto endpoints = resolve_within(address.host, address.port, options.timeout);
  if (auto* bad = std::get_if<std::string>(&endpoints)) return fail(*bad);
  if (auto failure = redis.connect(std::get<std::vector<tcp::endpoint>>(endpoints))) {
    return fail(*failure);
  }
  if (!address.password.empty()) {
    auto r = redis.run({"AUTH", address.password});
    if (auto* bad = std::get_if<std::string>(&r)) return fail(*bad);
    if (std::get<reply_ptr>(r)->type == REDIS_REPLY_ERROR) {
      return fail(redis.where() + " refused the password");
    }
  }
  if (address.db != 0) {
    auto r = redis.run({"SELECT", std::to_string(address.db)});
    if (auto* bad = std::get_if<std::string>(&r)) return fail(*bad);
    if (std::get<reply_ptr>(r)->type == REDIS_REPLY_ERROR) {
      return fail("cannot select database " + std::to_string(address.db) + " on " + redis.where());
    }
  }

  std::size_t line_number = 0, added = 0, rejected = 0;
  std::string line;
  while (std::getline(*in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // Validated here with the stream reader's own rules, so a bad line is reported to the
    // person publishing it instead of surfacing later in the dead-letter stream.
    auto parsed = ingest::parse_event(line, "cli", settings.max_payload);
    if (auto* bad = std::get_if<ingest::validation_error>(&parsed)) {
      std::cerr << "line " << line_number << ": rejected: " << bad->message << "\n";
      ++rejected;
      continue;
    }
    auto r = redis.run({"XADD", settings.stream, "*", "payload", line});
    if (auto* bad = std::get_if<std::string>(&r)) {
      return fail(*bad + "; line " + std::to_string(line_number) +
                  " and those after it were not added (" + std::to_string(added) + " added)");
    }
    const auto& reply = *std::get<reply_ptr>(r);
    if (reply.type == REDIS_REPLY_ERROR) {
      std::cerr << "line " << line_number << ": Redis error: " << std::string(reply.str, reply.len)
                << "\n";
      return 1;
    }
    std::cout << "line " << line_number << ": added " << std::string(reply.str, reply.len) << "\n";
    ++added;
  }
  std::cout << added << " added, " << rejected << " rejected\n";
  return rejected == 0 ? 0 : 1;
}

int run_replay(const replay_options& options,
               const std::function<std::optional<std::string>(const std::string&)>& env) {
  auto opened = open_admin_client("replay", options.url, options.timeout, env);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  const auto& client = std::get<admin_client>(opened);
  const auto fail = [](const std::string& sentence) {
    std::cerr << "dispatcher replay: " << sentence << "\n";
    return 1;
  };
  const std::string& who = client.who();
  const auto exchange = [&](http::verb method, const std::string& path, const std::string& body,
                            http_response& res) {
    return client.exchange(method, path, body, res);
  };

  if (options.delivery) {
    const std::string& id = *options.delivery;
    http_response res;
    if (auto failure =
            exchange(http::verb::post, "/v1/deliveries/" + path_segment(id) + "/retry", "{}", res);
        !failure.empty()) {
      return fail(failure);
    }
    switch (res.result_int()) {
      case 200:
      case 202:
        std::cout << "replayed delivery " << id << ": queued for one new attempt\n";
        return 0;
      case 404:
        return fail("no delivery " + id + " (it does not exist or is past retention)");
      case 409:
        return fail("cannot replay delivery " + id + ": " + api_error_text(res));
      default:
        return fail(who + " refused the replay (" + std::to_string(res.result_int()) +
                    "): " + api_error_text(res));
    }
  }

  if (options.endpoint) {
    // A bulk replay by a misspelt endpoint id would match nothing and exit 0: ask first.
    http_response res;
    if (auto failure =
            exchange(http::verb::get, "/v1/endpoints/" + path_segment(*options.endpoint), "", res);
        !failure.empty()) {
      return fail(failure);
    }
    if (res.result_int() == 404) return fail("endpoint " + *options.endpoint + " does not exist");
    if (res.result_int() >= 300) {
      return fail(who + " refused to show endpoint " + *options.endpoint + " (" +
                  std::to_string(res.result_int()) + "): " + api_error_text(res));
    }
  }

  nlohmann::json body = {{"status", options.status}, {"dry_run", options.dry_run}};
  if (options.endpoint) body["endpoint_id"] = *options.endpoint;
  if (options.event) body["event"] = *options.event;
  if (options.consumer) body["consumerid"] = *options.consumer;
  if (options.connection) body["connectionid"] = *options.connection;
  if (options.since) body["since"] = *options.since;
  if (options.until) body["until"] = *options.until;

  // On a terminal a large replay shows its progress (app/progress.hpp): the count first
  // (a dry run), then the time spent queueing; in a pipe only the result below.
  const bool progress = replay_shows_progress(::isatty(STDERR_FILENO) == 1, options.dry_run,
                                              options.delivery.has_value());
  std::optional<long long> counted;
  http_response res;
  std::string failure;
  if (progress) {
    auto dry = body;
    dry["dry_run"] = true;
    run_with_progress(
        true,
        [&] { failure = exchange(http::verb::post, "/v1/deliveries/retry", dry.dump(), res); },
        [](std::chrono::seconds s) { return progress_line(std::nullopt, s); });
    const auto answer = nlohmann::json::parse(res.body(), nullptr, false);
    if (failure.empty() && res.result_int() < 300 && answer.is_object() &&
        answer.value("matched", nlohmann::json()).is_number_integer()) {
      counted = answer["matched"].get<long long>();
    }
    res = {};
  }
  if (failure.empty()) {
    run_with_progress(
        progress,
        [&] { failure = exchange(http::verb::post, "/v1/deliveries/retry", body.dump(), res); },
        [&](std::chrono::seconds s) { return progress_line(counted, s); });
  }
  if (progress) std::cerr << "\r\x1b[K" << std::flush;  // the result line replaces it
  if (!failure.empty()) return fail(failure);

  const auto answer = nlohmann::json::parse(res.body(), nullptr, false);
  if (res.result_int() >= 300) {
    return fail(who + " refused the replay (" + std::to_string(res.result_int()) +
                "): " + api_error_text(res));
  }
  if (!answer.is_object()) {
    return fail(who + " answered " + std::to_string(res.result_int()) + " without a JSON object");
  }
  const auto count = [&](const char* key) {
    const auto it = answer.find(key);
    return it != answer.end() && it->is_number_integer() ? it->get<long long>() : 0LL;
  };
  if (options.dry_run) {
    std::cout << "dry run: " << count("matched") << " deliveries match; none queued\n";
  } else {
    std::cout << "matched " << count("matched") << " deliveries, queued " << count("queued")
              << "\n";
  }
  return 0;
}

namespace {

// Reads the corrected event of a retry into the request body {"payload": {...}}; the
// sentence saying why the file does not hold one, or nullopt.
std::optional<std::string> read_retry_body(const std::string& file, std::string& body) {
  std::ifstream opened;
  std::istream* in = &std::cin;
  const std::string name = file == "-" ? "standard input" : file;
  if (file != "-") {
    opened.open(file);
    if (!opened) return "cannot open " + file + ": " + std::strerror(errno);
    in = &opened;
  }
  const std::string text{std::istreambuf_iterator<char>(*in), std::istreambuf_iterator<char>()};
  auto parsed = parse_untrusted_json(text);
  if (auto* problem = std::get_if<json_problem>(&parsed)) return name + " " + problem->message;
  const auto& event = std::get<nlohmann::json>(parsed);
  if (!event.is_object()) return name + " must hold one JSON object, the corrected event";
  body = nlohmann::json{{"payload", event}}.dump();
  return std::nullopt;
}

}  // namespace

int run_dead_letters(const dead_letters_options& options,
                     const std::function<std::optional<std::string>(const std::string&)>& env) {
  const auto fail = [](const std::string& sentence) {
    std::cerr << "dispatcher dead-letters: " << sentence << "\n";
    return 1;
  };
  // The corrected event is read before anything goes out: a bad file costs no request.
  std::string retry_body = "{}";
  if (options.act == dead_letters_options::action::retry && options.file) {
    if (auto bad = read_retry_body(*options.file, retry_body)) return fail(*bad);
  }

  auto opened = open_admin_client("dead-letters", options.url, options.timeout, env);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  const auto& client = std::get<admin_client>(opened);
  const std::string& id = options.id;
  const std::string path = "/v1/dead-letters/" + path_segment(id);
  const auto refused = [&](const http_response& res) {
    return fail(client.who() + " answered " + std::to_string(res.result_int()) + ": " +
                api_error_text(res));
  };
  http_response res;

  if (options.act == dead_letters_options::action::remove) {
    if (auto failure = client.exchange(http::verb::delete_, path, "", res); !failure.empty()) {
      return fail(failure);
    }
    if (res.result_int() == 404) return fail("no dead letter " + id);
    if (res.result_int() >= 300) return refused(res);
    std::cout << "deleted dead letter " << id << "\n";
    return 0;
  }

  if (options.act == dead_letters_options::action::retry) {
    if (auto failure = client.exchange(http::verb::post, path + "/retry", retry_body, res);
        !failure.empty()) {
      return fail(failure);
    }
    if (res.result_int() == 404) return fail("no dead letter " + id);
    if (res.result_int() == 422) {
      return fail("dead letter " + id + " is still invalid and stays: " + api_error_text(res));
    }
    if (res.result_int() >= 300) return refused(res);
    const auto answer = nlohmann::json::parse(res.body(), nullptr, false);
    const std::string event_id = answer.is_object() ? string_member(answer, "id") : "";
    const bool duplicate = answer.is_object() && answer.value("duplicate", false);
    std::cout << "retried dead letter " << id << ": "
              << (duplicate ? "event " + event_id + " was already accepted; nothing sent again"
                            : "published as event " + event_id)
              << "; the dead letter is removed\n";
    return 0;
  }

  std::string target = "/v1/dead-letters?limit=" + std::to_string(options.limit);
  if (options.cursor) target += "&cursor=" + *options.cursor;
  if (auto failure = client.exchange(http::verb::get, target, "", res); !failure.empty()) {
    return fail(failure);
  }
  if (res.result_int() >= 300) return refused(res);
  const auto answer = nlohmann::json::parse(res.body(), nullptr, false);
  if (!answer.is_object() || !answer.contains("data") || !answer["data"].is_array()) {
    return fail(client.who() + " answered without a list");
  }
  const auto& data = answer["data"];
  if (data.empty()) std::cout << "no dead letters\n";
  for (const auto& letter : data) {
    if (!letter.is_object()) continue;
    std::cout << string_member(letter, "id") << "  " << string_member(letter, "at")
              << "  from stream entry " << string_member(letter, "source_id") << "\n"
              << "  error:   " << printable(string_member(letter, "error")) << "\n"
              << "  payload: " << printable(string_member(letter, "payload")) << "\n";
  }
  if (const auto next = answer.find("next_cursor"); next != answer.end() && next->is_string()) {
    std::cout << "more: dispatcher dead-letters --limit " << options.limit << " --cursor "
              << next->get<std::string>() << "\n";
  }
  return 0;
}

}  // namespace dispatcher::app
