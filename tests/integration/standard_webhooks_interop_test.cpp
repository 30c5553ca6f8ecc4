// Interop with the official Standard Webhooks verifier: the real dispatcher binary, a real
// Redis, and tests/contract/node/receiver.mjs, which verifies each request with the npm
// `standardwebhooks` package (pinned in tests/contract/node/package-lock.json, installed
// by scripts/setup) and x-chift-signature with node:crypto, answering 204 or 401. A
// delivery that ends `succeeded` was accepted by that verifier; the same request with one
// byte of its body changed, or signed with another secret, must be refused.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string receiver_secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const std::string other_secret = "whsec_paWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaU=";

/// `node receiver.mjs` as a child process; its output (one JSON line a request) in a file.
class node_receiver {
 public:
  node_receiver() : port_(free_port()) {
    char path[] = "/tmp/dispatcher-node-receiver-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    log_path_ = path;
    const std::string script =
        std::string(DISPATCHER_SOURCE_DIR) + "/tests/contract/node/receiver.mjs";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::setenv("WEBHOOK_SECRET", receiver_secret.c_str(), 1);
      ::setenv("PORT", std::to_string(port_).c_str(), 1);
      ::execlp("node", "node", script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fd);
    if (!eventually([&] { return !lines().empty(); }, 20s)) {
      throw std::runtime_error("node receiver.mjs did not start (scripts/setup installs it)");
    }
  }
  ~node_receiver() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    ::unlink(log_path_.c_str());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::uint16_t port() const { return port_; }

  /// The requests it received, in order (the first line, "listening", left out).
  std::vector<json> lines() const {
    std::ifstream in(log_path_);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_object()) out.push_back(std::move(j));
    }
    return out;
  }
  std::vector<json> requests() const {
    auto all = lines();
    if (!all.empty()) all.erase(all.begin());
    return all;
  }

 private:
  std::uint16_t port_;
  pid_t pid_ = -1;
  std::string log_path_;
};

/// POSTs `body` with these headers to 127.0.0.1:port/hook; the status answered, 0 on failure.
int post(std::uint16_t port, const std::map<std::string, std::string>& headers,
         const std::string& body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!connect_loopback(fd, port)) {
    ::close(fd);
    return 0;
  }
  std::string req = "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) req += name + ": " + value + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, n);
  ::close(fd);
  return raw.size() > 12 ? std::atoi(raw.c_str() + 9) : 0;
}

class StandardWebhooksInterop : public ::testing::Test {
 protected:
  redis_server redis_;
  node_receiver receiver_;
  dispatcher_process service_{{{"DISPATCHER_REDIS_URL", redis_.url()},
                               {"DISPATCHER_RETRY_SCHEDULE", "100ms"},
                               {"DISPATCHER_POLL_INTERVAL", "20ms"}}};

  json api(const std::string& method, const std::string& target, const json& body = {}) {
    auto r = http_request(service_.port(), method, target, body.is_null() ? "" : body.dump());
    return r.json();
  }
  json create_endpoint(const std::string& secret) {
    auto r = http_request(
        service_.port(), "POST", "/v1/endpoints",
        json{{"url", receiver_.url()}, {"secret", secret}, {"signature", "both"}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  }
  /// Publishes through the API and waits until its one delivery is final.
  json deliver(const std::string& event_id, const std::string& endpoint_id) {
    auto published = http_request(service_.port(), "POST", "/v1/events",
                                  event_json("account.connection.created", consumer_a, connection_1,
                                             "active", 1700000000, event_id));
    EXPECT_EQ(published.status, 202) << published.body;
    json delivery;
    eventually(
        [&] {
          auto list = api("GET", "/v1/deliveries?endpoint_id=" + endpoint_id);
          if (!list.contains("data") || list["data"].empty()) return false;
          delivery = list["data"][0];
          return delivery["status"] == "succeeded" || delivery["status"] == "failed";
        },
        20s);
    return delivery;
  }
};

TEST_F(StandardWebhooksInterop,
       official_verifier_accepts_real_deliveries_and_refuses_a_tampered_body) {
  const auto endpoint = create_endpoint(receiver_secret);
  const auto delivery = deliver("evt_interop_1", endpoint["id"]);
  EXPECT_EQ(delivery["status"], "succeeded") << delivery.dump();

  const auto received = receiver_.requests();
  ASSERT_EQ(received.size(), 1u);
  const auto& request = received[0];
  EXPECT_EQ(request["standard"], "verified") << request.dump();
  EXPECT_EQ(request["chift"], "verified") << request.dump();
  EXPECT_EQ(request["id"], "evt_interop_1");
  EXPECT_EQ(request["type"], "account.connection.created");

  // The same headers with the body changed in one place: both schemes must refuse it.
  std::map<std::string, std::string> headers;
  for (const char* name : {"content-type", "webhook-id", "webhook-timestamp", "webhook-signature",
                           "x-chift-signature"}) {
    headers[name] = request["headers"][name].get<std::string>();
  }
  std::string body = request["body"];
  ASSERT_EQ(post(receiver_.port(), headers, body), 204) << "the untouched replay must verify";
  const auto at = body.find("\"active\"");
  ASSERT_NE(at, std::string::npos);
  body.replace(at, 8, "\"Active\"");
  EXPECT_EQ(post(receiver_.port(), headers, body), 401);
  const auto tampered = receiver_.requests().back();
  EXPECT_EQ(tampered["standard"], "No matching signature found") << tampered.dump();
  EXPECT_EQ(tampered["chift"], "mismatch");
}

TEST_F(StandardWebhooksInterop, official_verifier_refuses_a_delivery_signed_with_another_secret) {
  const auto endpoint = create_endpoint(other_secret);
  const auto delivery = deliver("evt_interop_2", endpoint["id"]);
  EXPECT_EQ(delivery["status"], "failed") << delivery.dump();
  EXPECT_EQ(delivery["last_status_code"], 401);
  const auto received = receiver_.requests();
  ASSERT_FALSE(received.empty());
  for (const auto& request : received) {
    EXPECT_EQ(request["standard"], "No matching signature found") << request.dump();
    EXPECT_EQ(request["chift"], "mismatch");
  }
}

}  // namespace
}  // namespace dispatcher::testing
