#include "dispatcher/app/commands.hpp"

#include <fstream>
#include <iostream>
#include <memory>

#include <hiredis/hiredis.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "dispatcher/delivery/target.hpp"
#include "dispatcher/ingest/event.hpp"

namespace dispatcher::app {

namespace {

struct redis_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

reply_ptr run(redisContext* c, std::initializer_list<std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (auto a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  return reply_ptr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
}

}  // namespace

int run_publish(const publish_options& options, const config::settings& settings) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (options.file != "-") {
    file.open(options.file);
    if (!file) {
      std::cerr << "dispatcher publish: cannot open " << options.file << "\n";
      return 1;
    }
    in = &file;
  }
  const auto address = config::parse_redis_url(settings.redis_url);
  const timeval timeout{5, 0};
  std::unique_ptr<redisContext, redis_deleter> c(
      redisConnectWithTimeout(address.host.c_str(), address.port, timeout));
  if (!c || c->err) {
    std::cerr << "dispatcher publish: cannot connect to Redis at " << address.host << ":"
              << address.port << ": " << (c ? c->errstr : "out of memory") << "\n";
    return 1;
  }
  redisSetTimeout(c.get(), timeout);
  if (!address.password.empty()) {
    auto r = run(c.get(), {"AUTH", address.password});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      std::cerr << "dispatcher publish: Redis refused the password\n";
      return 1;
    }
  }
  if (address.db != 0) {
    auto r = run(c.get(), {"SELECT", std::to_string(address.db)});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      std::cerr << "dispatcher publish: cannot select database " << address.db << "\n";
      return 1;
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
    auto r = run(c.get(), {"XADD", settings.stream, "*", "payload", line});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      std::cerr << "line " << line_number
                << ": Redis error: " << (r ? std::string(r->str, r->len) : std::string(c->errstr))
                << "\n";
      return 1;
    }
    std::cout << "line " << line_number << ": added " << std::string(r->str, r->len) << "\n";
    ++added;
  }
  std::cout << added << " added, " << rejected << " rejected\n";
  return rejected == 0 ? 0 : 1;
}

int run_replay(const replay_options& options,
               const std::function<std::optional<std::string>(const std::string&)>& env) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace asio = boost::asio;

  const std::string url =
      options.url.value_or(env("DISPATCHER_URL").value_or("http://127.0.0.1:8080"));
  const std::string token = env("DISPATCHER_ADMIN_TOKEN").value_or("");
  if (token.empty()) {
    std::cerr << "dispatcher replay: DISPATCHER_ADMIN_TOKEN is not set\n";
    return 2;
  }
  auto parsed = delivery::parse_target(url);
  if (auto* bad = std::get_if<std::string>(&parsed)) {
    std::cerr << "dispatcher replay: DISPATCHER_URL: " << *bad << "\n";
    return 2;
  }
  const auto& target = std::get<delivery::target>(parsed);
  if (target.tls) {
    std::cerr << "dispatcher replay: DISPATCHER_URL: the admin API is served over http\n";
    return 2;
  }

  nlohmann::json body = {{"status", options.status}, {"dry_run", options.dry_run}};
  if (options.endpoint) body["endpoint_id"] = *options.endpoint;
  if (options.event) body["event"] = *options.event;
  if (options.consumer) body["consumerid"] = *options.consumer;
  if (options.connection) body["connectionid"] = *options.connection;
  if (options.since) body["since"] = *options.since;
  if (options.until) body["until"] = *options.until;

  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(30));
    stream.connect(resolver.resolve(target.host, std::to_string(target.port)));
    http::request<http::string_body> req{http::verb::post, "/v1/deliveries/retry", 11};
    req.set(http::field::host, target.host);
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::content_type, "application/json");
    req.body() = body.dump();
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    auto answer = nlohmann::json::parse(res.body(), nullptr, false);
    if (res.result_int() >= 300 || answer.is_discarded()) {
      std::cerr << "dispatcher replay: " << res.result_int() << " " << res.body() << "\n";
      return 1;
    }
    if (options.dry_run) {
      std::cout << "dry run: " << answer.value("matched", 0) << " deliveries match; none queued\n";
    } else {
      std::cout << "matched " << answer.value("matched", 0) << " deliveries, queued "
                << answer.value("queued", 0) << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dispatcher replay: cannot reach " << url << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace dispatcher::app
