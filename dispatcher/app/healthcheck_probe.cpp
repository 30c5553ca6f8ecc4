// The container health check's client; see healthcheck.hpp. One GET /healthz through the
// operator commands' admin API client (app/admin_client.hpp), so the whole check, lookup
// included, is bounded by its deadline: the blocking Beast calls it made before were not
// (a tcp_stream's expiry applies only to asynchronous operations), and a service that
// accepted and never answered held the check until the container runtime killed it.
#include <iostream>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/app/admin_client.hpp"
#include "dispatcher/app/command_runtime.hpp"
#include "dispatcher/app/healthcheck.hpp"
#include "dispatcher/config/settings.hpp"

namespace dispatcher::app {

namespace {

// Docker's own timeout is 30 s by default; the answer of a live process takes
// milliseconds, so 5 s only rules out a stuck one.
constexpr std::chrono::seconds healthcheck_timeout{5};

}  // namespace

int run_healthcheck(const std::vector<std::string>& args,
                    const std::function<std::optional<std::string>(const std::string&)>& env) {
  std::optional<std::string> address;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--address" && i + 1 < args.size()) {
      address = args[++i];
    } else {
      std::cerr << "Usage: dispatcher healthcheck [--address HOST:PORT]\n\n"
                   "Exit 0 when GET /healthz on HOST:PORT (DISPATCHER_LISTEN, 127.0.0.1:8080)\n"
                   "answers 200 within 5 s, else 1.\n";
      return 2;
    }
  }
  std::string where = healthcheck_address(address ? address : env("DISPATCHER_LISTEN"));
  if (where.find(':') == std::string::npos) where += ":8080";
  const auto parsed = config::parse_host_port(where);
  if (!parsed) {
    std::cerr << "dispatcher healthcheck: " << where << ": not a HOST:PORT address\n";
    return 1;
  }
  admin_api_address api;
  api.url = "http://" + where;
  api.where.host = parsed->host;
  api.where.port = parsed->port;
  api.where.path_and_query = "/healthz";
  return run_command([&](boost::asio::any_io_executor executor) -> boost::asio::awaitable<int> {
    admin_client client(executor, api, healthcheck_timeout, "the service");
    auto answered = co_await client.async_exchange(boost::beast::http::verb::get, "/healthz");
    if (auto* failure = std::get_if<std::string>(&answered)) {
      std::cerr << "dispatcher healthcheck: " << where << ": " << *failure << "\n";
      co_return 1;
    }
    const int status = std::get<api_answer>(answered).status;
    if (status != 200) {
      std::cerr << "dispatcher healthcheck: " << where << " answered " << status << "\n";
      co_return 1;
    }
    co_return 0;
  });
}

}  // namespace dispatcher::app
