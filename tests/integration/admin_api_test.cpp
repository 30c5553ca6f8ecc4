// The admin API as a hostile client meets it, with the real service and Redis: the token
// is checked from the headers before a body is read (no 100 Continue, nothing buffered),
// the Bearer scheme is matched in any case, and path ids that cannot exist are 404s that
// never reach a Redis key (an attempts list once answered 503 through a delivery's path).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// A blocking loopback socket with 10 s timeouts, closed on destruction.
class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!connect_loopback(fd_, port)) {
      throw std::runtime_error("connect failed");
    }
  }
  ~raw_socket() { ::close(fd_); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  void send(const std::string& bytes) {
    for (std::size_t sent = 0; sent < bytes.size();) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<std::size_t>(n);
    }
  }

  // Everything until the server closes (or the 10 s timeout).
  std::string read_all() {
    std::string raw;
    char buf[4096];
    for (;;) {
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<std::size_t>(n));
    }
    return raw;
  }

 private:
  int fd_;
};

int status_of(const std::string& raw) {
  return raw.size() < 12 ? 0 : std::atoi(raw.c_str() + 9);
}

class AdminApi : public ::testing::Test {
 protected:
  void start(config::settings s) {
    service_ = std::make_unique<in_process_dispatcher>(std::move(s));
  }
  void start() { start(test_settings(redis_.url())); }

  // GET with a raw Authorization header value (or none).
  int get_with(const std::string& target, const std::string& authorization) {
    raw_socket s(service_->port());
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!authorization.empty()) req += "Authorization: " + authorization + "\r\n";
    s.send(req + "\r\n");
    return status_of(s.read_all());
  }

  redis_server redis_;
  std::unique_ptr<in_process_dispatcher> service_;
};

TEST_F(AdminApi, unauthorized_post_is_refused_from_its_headers_before_the_body) {
  start();
  for (const std::string auth : {"", "Authorization: Bearer wrong-token-0123456\r\n"}) {
    raw_socket s(service_->port());
    // One MiB announced, none of it sent: the answer must come from the headers alone.
    s.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth +
           "Content-Length: 1048576\r\n\r\n");
    const std::string raw = s.read_all();
    EXPECT_EQ(status_of(raw), 401) << raw;
    EXPECT_NE(raw.find("unauthorized"), std::string::npos) << raw;
  }
}

TEST_F(AdminApi, unauthorized_expect_100_continue_gets_401_not_100) {
  start();
  raw_socket s(service_->port());
  s.send(
      "POST /v1/endpoints HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n"
      "Expect: 100-continue\r\n\r\n");
  const std::string raw = s.read_all();
  EXPECT_EQ(raw.rfind("HTTP/1.1 401", 0), 0u) << raw;
  EXPECT_EQ(raw.find(" 100 "), std::string::npos) << raw;
}

TEST_F(AdminApi, authorized_expect_100_continue_still_continues) {
  start();
  raw_socket s(service_->port());
  const std::string body = R"({"url":"http://127.0.0.1:9/hook"})";
  s.send("POST /v1/endpoints HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " +
         admin_token + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nExpect: 100-continue\r\n\r\n");
  s.send(body);
  const std::string raw = s.read_all();
  EXPECT_EQ(raw.rfind("HTTP/1.1 100", 0), 0u) << raw;
  EXPECT_NE(raw.find("HTTP/1.1 201"), std::string::npos) << raw;
}

TEST_F(AdminApi, bearer_scheme_is_case_insensitive) {
  start();
  EXPECT_EQ(get_with("/v1/endpoints", "Bearer " + admin_token), 200);
  EXPECT_EQ(get_with("/v1/endpoints", "bearer " + admin_token), 200);
  EXPECT_EQ(get_with("/v1/endpoints", "BEARER  " + admin_token), 200);
  EXPECT_EQ(get_with("/v1/endpoints", "Bearer" + admin_token), 401);
  EXPECT_EQ(get_with("/v1/endpoints", "Basic " + admin_token), 401);
  EXPECT_EQ(get_with("/v1/endpoints", "Bearer " + admin_token + "x"), 401);
  EXPECT_EQ(get_with("/v1/endpoints", ""), 401);
}

TEST_F(AdminApi, metrics_token_accepts_any_case_of_bearer) {
  auto s = test_settings(redis_.url());
  s.metrics_token = "metrics-token-0123456789";
  start(std::move(s));
  EXPECT_EQ(get_with("/metrics", ""), 401);
  EXPECT_EQ(get_with("/metrics", "bearer metrics-token-0123456789"), 200);
  EXPECT_EQ(get_with("/metrics", "Bearer " + admin_token), 401);
  EXPECT_EQ(get_with("/healthz", ""), 200);
}

TEST_F(AdminApi, a_delivery_path_cannot_reach_its_attempts_list) {
  start();
  test_receiver receiver;
  ASSERT_EQ(service_->api("POST", "/v1/endpoints", json{{"url", receiver.url()}}.dump()).status,
            201);
  redis_.cmd({"XADD", "lifecycle:events", "*", "payload",
              event_json("account.connection.created", consumer_a, connection_1, "active", 1)});
  ASSERT_TRUE(receiver.wait_for_requests(1, 10s));
  std::string id;
  ASSERT_TRUE(eventually([&] {
    const auto list = service_->api("GET", "/v1/deliveries?status=succeeded").json();
    if (list["data"].empty()) return false;
    id = list["data"][0]["id"];
    return true;
  }));
  const auto one = service_->api("GET", "/v1/deliveries/" + id).json();
  ASSERT_EQ(one["attempts"].size(), 1u) << one.dump();

  // The attempts list once lived at dlv:<id>:attempts, so this path read a list as a
  // hash and answered 503.
  const auto probe = service_->api("GET", "/v1/deliveries/" + id + ":attempts");
  EXPECT_EQ(probe.status, 404) << probe.body;
  EXPECT_EQ(probe.json()["error"]["code"], "not_found");
  EXPECT_EQ(service_->api("POST", "/v1/deliveries/" + id + ":attempts/retry").status, 404);
}

TEST_F(AdminApi, ids_that_cannot_exist_are_404) {
  start();
  const std::string uuid = "33333333-3333-4333-8333-333333333333";
  for (const std::string& target : std::vector<std::string>{
           "/v1/deliveries/dlv_missing",
           "/v1/deliveries/dlv_00000000000000000000000g",   // not hex
           "/v1/deliveries/dlv_0000000000000000000000000",  // 25 digits
           "/v1/deliveries/DLV_000000000000000000000000",
           "/v1/deliveries/x%3Ay",
           "/v1/endpoints/ep_abc:def",
           "/v1/endpoints/ep_ABC",
           "/v1/endpoints/ep_",
           "/v1/endpoints/idx:dlv",
           "/v1/events/a%20b",
           "/v1/events/" + std::string(129, 'a'),
           "/v1/events/%C3%A9",
           "/v1/connections/not-a-uuid",
           "/v1/connections/" + uuid + ":history",
           "/v1/consumers/" + uuid + "x/connections",
           "/v1/consumers/q:ready/connections",
       }) {
    const auto r = service_->api("GET", target);
    EXPECT_EQ(r.status, 404) << target << " " << r.body;
  }
  EXPECT_EQ(service_->api("POST", "/v1/deliveries/dlv_x/retry").status, 404);
  EXPECT_EQ(service_->api("PATCH", "/v1/endpoints/ep_a:b", "{}").status, 404);
  EXPECT_EQ(service_->api("DELETE", "/v1/endpoints/ep_a:b").status, 404);
  // Well-formed ids of things that do not exist are 404 too, and the valid shapes pass.
  EXPECT_EQ(service_->api("GET", "/v1/deliveries/dlv_000000000000000000000000").status, 404);
  EXPECT_EQ(service_->api("GET", "/v1/events/evt_1-0").status, 404);
  EXPECT_EQ(service_->api("GET", "/v1/consumers/" + uuid + "/connections").status, 200);
}

TEST_F(AdminApi, events_published_through_the_api_get_unbiased_random_ids) {
  start();
  const std::string event = R"({"event":"account.connection.created","accountid":")" + consumer_a +
                            R"(","consumerid":")" + consumer_a + R"(","connectionid":")" +
                            connection_1 + R"(","status":"active","created":1})";
  const auto r = service_->api("POST", "/v1/events", event);
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = r.json()["id"];
  // evt_ + the stand-in for a stream entry id, api_ + 20 random characters.
  ASSERT_EQ(id.size(), 28u) << id;
  EXPECT_EQ(id.substr(0, 8), "evt_api_");
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789", 8), std::string::npos);
  EXPECT_TRUE(eventually([&] { return service_->api("GET", "/v1/events/" + id).status == 200; }));
}

}  // namespace
}  // namespace dispatcher::testing
