// The set-up the end-to-end suites share (Pipeline, Operator): a private Redis, the service
// in process on it, and the admin calls they make. It also owns settled(), the condition
// that replaces a fixed sleep when a test proves that nothing more arrives: a sleep only
// shows that nothing came yet, settled() shows that nothing is left that could come.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "dispatcher/config/settings.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {

/// True when the consumer group has read and acknowledged every entry of `stream` (or the
/// stream does not exist): the reader has turned each event into its deliveries, since the
/// ingest script records them in the same atomic step as the XACK.
bool stream_drained(const redis_server& redis, const std::string& stream = "lifecycle:events",
                    const std::string& group = "dispatcher");

/// stream_drained(), and the service answering on admin_port lists no delivery pending or
/// retrying (one in an attempt is one of those until the attempt is recorded): until a test
/// queues more work, no further request is sent. A delivery recorded as succeeded or failed
/// had its request received already, so receivers' counts are final. With several
/// instances on one Redis, any one of them answers for all.
bool settled(const redis_server& redis, std::uint16_t admin_port);

class service_test : public ::testing::Test {
 protected:
  void start(config::settings s);
  void start();

  /// POST /v1/endpoints, expecting 201; the endpoint's JSON.
  nlohmann::json create_endpoint(const nlohmann::json& body);
  /// XADD of one payload to the event stream; the entry's id.
  std::string publish(const std::string& payload);

  nlohmann::json delivery(const std::string& id);
  /// GET /v1/deliveries with this query ("" for none).
  nlohmann::json deliveries(const std::string& query);
  std::size_t count(const std::string& query);

  /// settled() for this fixture's Redis and service: what a test waits for, instead of
  /// sleeping, before it checks that nothing more arrived.
  bool settled() const;

  redis_server redis_;
  std::unique_ptr<in_process_dispatcher> service_;
};

}  // namespace dispatcher::testing
