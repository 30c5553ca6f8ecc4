// settled() (tests/support/service_test.hpp) is what the end-to-end tests wait on, instead
// of a fixed sleep, before checking that nothing more arrived. Its worth is in what it
// refuses: these show it does not hold while an entry is unread or unacknowledged, or while
// a delivery waits for its retry.
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/service_test.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;

TEST(StreamDrained, a_stream_is_drained_once_every_entry_is_read_and_acknowledged) {
  redis_server redis;
  EXPECT_TRUE(stream_drained(redis, "s", "g")) << "no stream: nothing to read";
  redis.cmd({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"});
  EXPECT_TRUE(stream_drained(redis, "s", "g"));
  const auto id = redis.cmd({"XADD", "s", "*", "f", "v"});
  EXPECT_FALSE(stream_drained(redis, "s", "g")) << "unread";
  redis.cmd({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"});
  EXPECT_FALSE(stream_drained(redis, "s", "g")) << "read, not acknowledged";
  EXPECT_FALSE(stream_drained(redis, "s", "other")) << "another group's state is not ours";
  redis.cmd({"XACK", "s", "g", id});
  EXPECT_TRUE(stream_drained(redis, "s", "g"));
}

using Settled = service_test;

TEST_F(Settled, not_while_a_delivery_waits_for_its_retry) {
  auto s = test_settings(redis_.url());
  s.retry_schedule = {std::chrono::milliseconds(1500)};
  start(s);
  test_receiver r;
  r.always(reply{.status = 500});
  create_endpoint({{"url", r.url()}});
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 1));
  ASSERT_TRUE(r.wait_for_requests(1, 10s));
  ASSERT_TRUE(eventually([&] { return count("status=retrying") == 1; }));
  EXPECT_FALSE(settled()) << "the retry is still to come";

  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(r.requests().size(), 2u);
  EXPECT_EQ(count("status=failed"), 1u);
}

}  // namespace
}  // namespace dispatcher::testing
