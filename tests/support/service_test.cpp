// The shared end-to-end fixture's calls, and the reading of XINFO GROUPS behind settled().
#include "tests/support/service_test.hpp"

#include <sstream>
#include <utility>

namespace dispatcher::testing {

bool stream_drained(const redis_server& redis, const std::string& stream,
                    const std::string& group) {
  // redis_server::cmd flattens the reply one element a line: a group is name, value pairs.
  std::istringstream reply(redis.cmd({"XINFO", "GROUPS", stream}));
  if (reply.str().starts_with("ERR no such key")) return true;
  bool ours = false, read_all = false, acked_all = false;
  for (std::string key, value; std::getline(reply, key) && std::getline(reply, value);) {
    if (key == "name") ours = value == group;
    // lag is nil when Redis cannot tell how many entries are unread: not drained then.
    if (ours && key == "lag") read_all = value == "0";
    if (ours && key == "pending") acked_all = value == "0";
  }
  return read_all && acked_all;
}

void service_test::start(config::settings s) {
  service_ = std::make_unique<in_process_dispatcher>(std::move(s));
}

void service_test::start() {
  start(test_settings(redis_.url()));
}

nlohmann::json service_test::create_endpoint(const nlohmann::json& body) {
  auto r = service_->api("POST", "/v1/endpoints", body.dump());
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json();
}

std::string service_test::publish(const std::string& payload) {
  return redis_.cmd({"XADD", "lifecycle:events", "*", "payload", payload});
}

nlohmann::json service_test::delivery(const std::string& id) {
  return service_->api("GET", "/v1/deliveries/" + id).json();
}

nlohmann::json service_test::deliveries(const std::string& query) {
  return service_->api("GET", query.empty() ? "/v1/deliveries" : "/v1/deliveries?" + query).json();
}

std::size_t service_test::count(const std::string& query) {
  return deliveries(query)["data"].size();
}

bool settled(const redis_server& redis, std::uint16_t admin_port) {
  if (!stream_drained(redis)) return false;
  for (const char* status : {"pending", "retrying"}) {
    const auto listed =
        http_request(admin_port, "GET", std::string("/v1/deliveries?limit=1&status=") + status);
    if (listed.status != 200 || !listed.json()["data"].empty()) return false;
  }
  return true;
}

bool service_test::settled() const {
  return testing::settled(redis_, service_->port());
}

}  // namespace dispatcher::testing
