// The admin HTTP server over real sockets: request conversion (path and query decoding,
// headers, body), keep-alive, the body limit, malformed requests, handler exceptions,
// Expect: 100-continue, binding, and stop() ending idle connections promptly while a busy
// one still gets its answer. Under abuse (CONTRACT section 6): the authorizer answers from
// the headers before any body is read, a connection without a complete request for 5 s
// is closed, and thousands of idle sockets cannot keep a new client out. The server runs
// on its own io_context thread; the test thread is a blocking client with receive
// timeouts, so a server bug fails a test instead of hanging it.
#include "dispatcher/admin/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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

// Handlers of /slow and /hold that reached their timer: a test waits for this count, not
// for a fixed time, to know a request is in progress.
std::atomic<int> timers_started{0};

// Until timers_started passes `before`; false after 5 s.
bool handler_waiting(int before) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (timers_started.load() <= before) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Echoes the request as JSON; /throw throws, /slow answers after 300 ms, /hold after 2 s.
asio::awaitable<response> echo(request r) {
  if (r.path == "/throw") throw std::runtime_error("boom");
  if (r.path == "/slow" || r.path == "/hold") {
    asio::steady_timer timer(co_await asio::this_coro::executor, r.path == "/slow" ? 300ms : 2s);
    ++timers_started;
    co_await timer.async_wait(asio::use_awaitable);
  }
  const json body{{"method", r.method},
                  {"path", r.path},
                  {"query", r.query},
                  {"authorization", r.authorization},
                  {"body", r.body}};
  co_return response{200, "application/json", body.dump(), {{"x-echo", "yes"}}};
}

// Paths under /private need "Authorization: Bearer ok"; everything else goes on.
std::optional<response> private_needs_token(std::string_view path, std::string_view authorization) {
  if (!path.starts_with("/private") || authorization == "Bearer ok") return std::nullopt;
  return response{401, "application/json", R"({"error":{"code":"unauthorized"}})", {}};
}

// A blocking HTTP/1.1 client on one connection. Reads give up after 5 s (or `timeout`).
class client {
 public:
  explicit client(std::uint16_t port, const char* address = "127.0.0.1",
                  std::chrono::seconds timeout_after = 5s)
      : socket_(io_) {
    socket_.connect({asio::ip::make_address(address), port});
    timeval timeout{static_cast<time_t>(timeout_after.count()), 0};
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

  // For bytes the server may already have stopped reading: a refused write is not an error.
  void send_raw_if_open(const std::string& bytes) {
    beast::error_code ignored;
    asio::write(socket_, asio::buffer(bytes), ignored);
  }

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
    server_ =
        std::make_unique<server>(io_.get_executor(), "127.0.0.1:0", echo, private_needs_token);
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

TEST_F(AdminServer, chunked_body_is_refused_with_411_before_any_chunk_is_read) {
  client c(port());
  c.send_raw("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  const auto res = c.read();
  EXPECT_EQ(res.result_int(), 411u);
  EXPECT_EQ(error_of(res)["error"]["code"], "length_required");
  EXPECT_TRUE(c.closed_by_server());
}

// The input the admin_request fuzzer found: Transfer-Encoding twice and a final chunk, then
// one more byte in a later read. Beast 1.81's chunk parser asserts on that (n >= 5 in
// parse_chunk_header), which aborts a build with assertions on.
TEST_F(AdminServer, a_final_chunk_trickled_in_is_answered_not_parsed) {
  {
    client c(port());
    c.send_raw(
        "POST /v0/ents HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n");
    std::this_thread::sleep_for(50ms);  // lets the server parse "0\r\n" alone first
    c.send_raw_if_open("x");
    EXPECT_EQ(c.read().result_int(), 411u);
  }
  client after(port());
  EXPECT_EQ(after.send(http::verb::post, "/events", "{}").result_int(), 200u);
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
  const int before = timers_started;
  c.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(handler_waiting(before));
  server_->stop();
  const auto res = c.read();
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(finished_.wait_for(2s), std::future_status::ready);
}

TEST_F(AdminServer, unauthorized_request_is_answered_from_its_headers_alone) {
  client c(port());
  // One MiB announced and none of it sent: the 401 can only come from the headers.
  c.send_raw("POST /private/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n");
  const auto res = c.read();
  EXPECT_EQ(res.result_int(), 401u);
  EXPECT_EQ(error_of(res)["error"]["code"], "unauthorized");
  EXPECT_FALSE(res.keep_alive()) << "the unread body makes the connection unusable";
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(AdminServer, unauthorized_expect_100_continue_gets_401_instead_of_100) {
  client c(port());
  c.send_raw(
      "POST /private HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
      "Expect: 100-continue\r\nAuthorization: Bearer wrong\r\n\r\n");
  EXPECT_EQ(c.read_head().rfind("HTTP/1.1 401", 0), 0u);
}

TEST_F(AdminServer, authorizer_sees_the_decoded_path_and_passes_good_tokens) {
  client c(port());
  // No body: the 401 goes out on a connection that stays usable.
  const auto denied = c.send(http::verb::get, "/priv%61te/x");
  EXPECT_EQ(denied.result_int(), 401u);
  EXPECT_TRUE(denied.keep_alive());
  const auto allowed = c.send(http::verb::post, "/private/x", "hello", "Bearer ok");
  ASSERT_EQ(allowed.result_int(), 200u);
  EXPECT_EQ(json::parse(allowed.body())["body"], "hello");
}

TEST_F(AdminServer, connections_without_a_complete_request_close_after_five_seconds) {
  // Silent from the start, silent after one answer (keep-alive), and a slow loris that
  // sends a header byte a second: all three are closed about 5 s after going idle.
  client silent(port(), "127.0.0.1", 10s);
  client kept(port(), "127.0.0.1", 10s);
  ASSERT_EQ(kept.send(http::verb::get, "/warm").result_int(), 200u);
  client loris(port(), "127.0.0.1", 10s);
  const auto started = std::chrono::steady_clock::now();
  std::atomic<bool> loris_done{false};
  std::thread dribble([&] {
    const std::string head = "GET /x HTTP/1.1\r\nHost: x\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaa";
    for (std::size_t i = 0; i < head.size() && !loris_done; ++i) {
      try {
        loris.send_raw(head.substr(i, 1));
      } catch (const std::exception&) {
        return;  // closed by the server
      }
      std::this_thread::sleep_for(1s);
    }
  });
  const auto seconds_until_closed = [&](client& c) {
    EXPECT_TRUE(c.closed_by_server());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const double silent_s = seconds_until_closed(silent);
  const double kept_s = seconds_until_closed(kept);
  const double loris_s = seconds_until_closed(loris);
  loris_done = true;
  dribble.join();
  for (const double s : {silent_s, kept_s, loris_s}) {
    EXPECT_GT(s, 4.0);
    EXPECT_LT(s, 7.0);
  }
}

// Enough descriptors for `sockets` client sockets plus the server's side of them.
bool raise_fd_limit(std::size_t sockets) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  const rlim_t want = static_cast<rlim_t>(2 * sockets + 256);
  if (limit.rlim_cur >= want) return true;
  if (limit.rlim_max < want) return false;
  limit.rlim_cur = want;
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// A connected socket that never sends a byte; closed on destruction.
struct idle_socket {
  explicit idle_socket(std::uint16_t port) : fd(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~idle_socket() { ::close(fd); }
  idle_socket(const idle_socket&) = delete;
  idle_socket& operator=(const idle_socket&) = delete;

  // True once the server closed it; does not block.
  bool closed() const {
    char byte;
    const auto n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
  int fd;
};

TEST_F(AdminServer, thousands_of_idle_sockets_do_not_lock_out_a_new_client) {
  constexpr std::size_t cap = 1024;
  constexpr std::size_t hoarded = 2000;
  if (!raise_fd_limit(hoarded)) GTEST_SKIP() << "not enough file descriptors allowed";
  // A request in progress is never evicted, however long its connection has existed.
  client busy(port());
  const int before = timers_started;
  busy.send_raw("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(handler_waiting(before));

  const auto first_opened = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<idle_socket>> sockets;
  for (std::size_t i = 0; i < hoarded; ++i)
    sockets.push_back(std::make_unique<idle_socket>(port()));
  // Once the server has taken them all in, the busy connection and cap - 1 idle ones
  // remain: the rest were evicted to admit the newer ones.
  const std::size_t evicted = hoarded - (cap - 1);
  const auto count_closed = [&] {
    std::size_t closed = 0;
    for (const auto& s : sockets) closed += s->closed() ? 1 : 0;
    return closed;
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count_closed() < evicted && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(count_closed(), evicted);
  // Evicted longest-idle first: the oldest went, the newest are open (unless this machine
  // was so slow that the newest reached the 5 s idle limit meanwhile).
  if (std::chrono::steady_clock::now() - first_opened < 4s) {
    for (std::size_t i = 0; i < hoarded; ++i) {
      EXPECT_EQ(sockets[i]->closed(), i < evicted) << "socket " << i;
    }
  }

  const auto started = std::chrono::steady_clock::now();
  client fresh(port());
  const auto res = fresh.send(http::verb::get, "/healthz");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_LT(took, 1s) << std::chrono::duration<double>(took).count() << " s";
  EXPECT_EQ(busy.read().result_int(), 200u);
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
