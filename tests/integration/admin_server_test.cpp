// The admin HTTP server over real sockets: request conversion (path and query decoding,
// headers, body), keep-alive, the body limit, malformed requests, handler exceptions,
// Expect: 100-continue, binding, and stop() ending idle connections promptly while a busy
// one still gets its answer. The server runs on its own io_context thread; the test
// thread is a blocking client with receive timeouts, so a server bug fails a test instead
// of hanging it.
#include "dispatcher/admin/server.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using dispatcher::admin::request;
using dispatcher::admin::response;
using dispatcher::admin::server;
using json = nlohmann::json;
using namespace std::chrono_literals;

// Echoes the request as JSON; /throw throws, /slow answers after 300 ms.
asio::awaitable<response> echo(request r) {
  if (r.path == "/throw") throw std::runtime_error("boom");
  if (r.path == "/slow") {
    asio::steady_timer timer(co_await asio::this_coro::executor, 300ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  const json body{{"method", r.method},
                  {"path", r.path},
                  {"query", r.query},
                  {"authorization", r.authorization},
                  {"body", r.body}};
  co_return response{200, "application/json", body.dump(), {{"x-echo", "yes"}}};
}

// A blocking HTTP/1.1 client on one connection. Reads give up after 5 s.
class client {
 public:
  explicit client(std::uint16_t port, const char* address = "127.0.0.1") : socket_(io_) {
    socket_.connect({asio::ip::make_address(address), port});
    timeval timeout{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }

  http::response<http::string_body> send(http::verb method, const std::string& target,
                                         const std::string& body = "",
                                         const std::string& authorization = "") {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.body() = body;
    req.prepare_payload();
    http::write(socket_, req);
    return read();
  }

  void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  http::response<http::string_body> read() {
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res);
    return res;
  }

  // The first header block as text, e.g. an interim "HTTP/1.1 100 Continue".
  std::string read_head() {
    for (;;) {
      const std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      if (const auto end = data.find("\r\n\r\n"); end != std::string_view::npos) {
        std::string head(data.substr(0, end + 4));
        buffer_.consume(end + 4);
        return head;
      }
      const std::size_t n = socket_.read_some(buffer_.prepare(4096));
      buffer_.commit(n);
    }
  }

  // True when the server closed the connection (rather than leaving it open or timing out).
  bool closed_by_server() {
    char byte;
    beast::error_code ec;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

json error_of(const http::response<http::string_body>& res) {
  return json::parse(res.body());
}

class AdminServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<server>(io_.get_executor(), "127.0.0.1:0", echo);
    asio::co_spawn(io_, server_->async_run(), [this](std::exception_ptr error) {
      run_error_ = error;
      run_done_.set_value();
    });
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    server_->stop();
    EXPECT_EQ(finished_.wait_for(5s), std::future_status::ready);
    io_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return server_->port(); }

  asio::io_context io_;
  std::unique_ptr<server> server_;
  std::promise<void> run_done_;
  std::future<void> finished_ = run_done_.get_future();
  std::exception_ptr run_error_;
  std::thread thread_;
};

TEST_F(AdminServer, binds_an_ephemeral_port) {
  EXPECT_NE(port(), 0);
}

TEST_F(AdminServer, get_decodes_path_and_query) {
  client c(port());
  const auto res = c.send(http::verb::get, "/v1/things/a%20b?x=1&y=hello%20world&z=a+b&e=&x=2", "",
                          "Bearer secret");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res["x-echo"], "yes");
  const json echoed = json::parse(res.body());
  EXPECT_EQ(echoed["method"], "GET");
  EXPECT_EQ(echoed["path"], "/v1/things/a b");
  EXPECT_EQ(echoed["query"]["x"], "1") << "a repeated key keeps its first value";
  EXPECT_EQ(echoed["query"]["y"], "hello world");
  EXPECT_EQ(echoed["query"]["z"], "a b");
  EXPECT_EQ(echoed["query"]["e"], "");
  EXPECT_EQ(echoed["authorization"], "Bearer secret");
  EXPECT_EQ(echoed["body"], "");
}

TEST_F(AdminServer, post_body_reaches_the_handler) {
  client c(port());
  const std::string body = R"({"url":"https://example.com/hook"})";
  const auto res = c.send(http::verb::post, "/v1/endpoints", body);
  ASSERT_EQ(res.result_int(), 200u);
  const json echoed = json::parse(res.body());
  EXPECT_EQ(echoed["method"], "POST");
  EXPECT_EQ(echoed["path"], "/v1/endpoints");
  EXPECT_EQ(echoed["body"], body);
  EXPECT_TRUE(echoed["query"].empty());
}

TEST_F(AdminServer, keep_alive_serves_two_requests_on_one_connection) {
  client c(port());
  const auto first = c.send(http::verb::get, "/one");
  EXPECT_TRUE(first.keep_alive());
  const auto second = c.send(http::verb::get, "/two");
  ASSERT_EQ(second.result_int(), 200u);
  EXPECT_EQ(json::parse(second.body())["path"], "/two");
}

TEST_F(AdminServer, pipelined_requests_are_answered_in_order) {
  client c(port());
  c.send_raw(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(json::parse(c.read().body())["path"], "/a");
  EXPECT_EQ(json::parse(c.read().body())["path"], "/b");
}

TEST_F(AdminServer, connection_close_is_honoured) {
  client c(port());
  c.send_raw("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto res = c.read();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServer, body_of_exactly_one_mib_is_accepted) {
  client c(port());
  const auto res = c.send(http::verb::post, "/big", std::string(1024 * 1024, 'a'));
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json::parse(res.body())["body"].get<std::string>().size(), 1024u * 1024);
}

TEST_F(AdminServer, body_over_one_mib_is_413) {
  client c(port());
  const auto res = c.send(http::verb::post, "/big", std::string(1024 * 1024 + 1, 'a'));
  ASSERT_EQ(res.result_int(), 413u);
  EXPECT_EQ(error_of(res)["error"]["code"], "payload_too_large");
  EXPECT_FALSE(error_of(res)["error"]["message"].get<std::string>().empty());
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServer, chunked_body_over_one_mib_is_413) {
  client c(port());
  c.send_raw("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk(512 * 1024, 'a');
  const std::string framed = "80000\r\n" + chunk + "\r\n";
  for (int i = 0; i < 3; ++i) c.send_raw(framed);
  c.send_raw("0\r\n\r\n");
  const auto res = c.read();
  EXPECT_EQ(res.result_int(), 413u);
  EXPECT_EQ(error_of(res)["error"]["code"], "payload_too_large");
}

TEST_F(AdminServer, expect_100_continue_gets_an_interim_answer) {
  client c(port());
  c.send_raw(
      "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n");
  EXPECT_EQ(c.read_head().rfind("HTTP/1.1 100", 0), 0u);
  c.send_raw("hello");
  const auto res = c.read();
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(json::parse(res.body())["body"], "hello");
}

TEST_F(AdminServer, expect_100_continue_with_too_large_body_is_413_at_once) {
  client c(port());
  c.send_raw(
      "POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
      "Expect: 100-continue\r\n\r\n");
  const auto res = c.read();
  EXPECT_EQ(res.result_int(), 413u);
}

TEST_F(AdminServer, garbage_is_400_and_closes) {
  client c(port());
  c.send_raw("THIS IS NOT HTTP\r\n\r\n");
  const auto res = c.read();
  ASSERT_EQ(res.result_int(), 400u);
  EXPECT_EQ(error_of(res)["error"]["code"], "bad_request");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServer, bad_percent_encoding_in_target_is_400) {
  client c(port());
  c.send_raw("GET /v1/%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto res = c.read();
  ASSERT_EQ(res.result_int(), 400u);
  EXPECT_EQ(error_of(res)["error"]["code"], "bad_request");
}

TEST_F(AdminServer, handler_exception_is_500_and_the_connection_survives) {
  client c(port());
  const auto res = c.send(http::verb::get, "/throw");
  ASSERT_EQ(res.result_int(), 500u);
  EXPECT_EQ(json::parse(res.body()),
            json::parse(R"({"error":{"code":"internal","message":"internal error"}})"));
  EXPECT_EQ(c.send(http::verb::get, "/after").result_int(), 200u);
}

TEST_F(AdminServer, head_gets_headers_without_body) {
  client c(port());
  c.send_raw("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string head = c.read_head();
  EXPECT_NE(head.find("Content-Length: "), std::string::npos) << head;
  // The connection is still in step: a following request gets its own answer.
  EXPECT_EQ(json::parse(c.send(http::verb::get, "/next").body())["path"], "/next");
}

TEST_F(AdminServer, stop_ends_run_promptly_with_an_idle_connection_open) {
  client c(port());
  ASSERT_EQ(c.send(http::verb::get, "/warm").result_int(), 200u);
  const auto started = std::chrono::steady_clock::now();
  server_->stop();
  ASSERT_EQ(finished_.wait_for(2s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_FALSE(run_error_);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_THROW(client{port()}, boost::system::system_error) << "no longer accepting";
}

TEST_F(AdminServer, stop_lets_a_busy_request_finish_with_connection_close) {
  client c(port());
  c.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(100ms);  // the handler is now waiting on its timer
  server_->stop();
  const auto res = c.read();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(finished_.wait_for(2s), std::future_status::ready);
}

TEST(AdminServerThreads, serves_concurrent_clients_on_a_multi_threaded_io_context) {
  asio::io_context io;
  server s(io.get_executor(), "127.0.0.1:0", echo);
  std::promise<void> done;
  asio::co_spawn(io, s.async_run(), [&done](std::exception_ptr) { done.set_value(); });
  std::vector<std::thread> io_threads;
  for (int i = 0; i < 3; ++i) io_threads.emplace_back([&io] { io.run(); });

  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      client c(s.port());
      for (int j = 0; j < 25; ++j) {
        const std::string path = "/c" + std::to_string(i) + "/" + std::to_string(j);
        const auto res = c.send(http::verb::get, path);
        if (res.result_int() == 200 && json::parse(res.body())["path"] == path) ++answered;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 200);

  client idle(s.port());
  ASSERT_EQ(idle.send(http::verb::get, "/idle").result_int(), 200u);
  s.stop();
  EXPECT_EQ(done.get_future().wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(idle.closed_by_server());
  io.stop();
  for (auto& t : io_threads) t.join();
}

TEST(AdminServerBind, busy_port_throws_naming_the_address) {
  asio::io_context io;
  server first(io.get_executor(), "127.0.0.1:0", echo);
  const std::string address = "127.0.0.1:" + std::to_string(first.port());
  try {
    server second(io.get_executor(), address, echo);
    FAIL() << "bound a port already in use";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find(address), std::string::npos) << e.what();
  }
}

TEST(AdminServerBind, bad_addresses_throw) {
  asio::io_context io;
  EXPECT_THROW(server(io.get_executor(), "no-port", echo), std::system_error);
  EXPECT_THROW(server(io.get_executor(), "192.0.2.1:0", echo), std::system_error)
      << "not an address of this host";
}

TEST(AdminServerBind, localhost_and_ipv6_loopback) {
  asio::io_context io;
  server by_name(io.get_executor(), "localhost:0", echo);
  EXPECT_NE(by_name.port(), 0);
  try {
    server v6(io.get_executor(), "[::1]:0", echo);
    EXPECT_NE(v6.port(), 0);
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
}

}  // namespace
