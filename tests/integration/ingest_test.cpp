// The stream reader and the streams' bounds against a real Redis: an endpoint change made
// through one instance applies to events another instance reads right after; the ingest
// script refuses a stale endpoint version and acknowledges any batch the settings allow;
// the largest batch drains a backlog; the event stream is trimmed only where every group
// is done; dead letters are capped and keep a 4 KiB excerpt.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "dispatcher/common/time.hpp"
#include "dispatcher/history/connection.hpp"
#include "dispatcher/history/delivery.hpp"
#include "dispatcher/ingest/stream_trimmer.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"
#include "dispatcher/redis/script_io.hpp"
#include "dispatcher/redis/scripts.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/replies.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string stream = "lifecycle:events";

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::set<std::string> webhook_ids(const test_receiver& r) {
  std::set<std::string> ids;
  for (const auto& req : r.requests()) ids.insert(req.headers.at("webhook-id"));
  return ids;
}

/// XADDs `count` valid events in one script call (12,000 round trips would take seconds).
void publish_many(const redis_server& redis, int count) {
  const std::string marker = "987654321";
  const auto payload =
      event_json("account.connection.updated", consumer_a, connection_1, "active", 987654321);
  const auto at = payload.find(marker);
  redis.cmd({"EVAL",
             "for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', 'payload', "
             "ARGV[2] .. i .. ARGV[3]) end",
             "1", stream, std::to_string(count), payload.substr(0, at),
             payload.substr(at + marker.size())});
}

std::string pending_count(const redis_server& redis) {
  return lines(redis.cmd({"XPENDING", stream, "dispatcher"})).at(0);
}

// ---------------------------------------------------------------------------------------
// The ingest script on its own.

class IngestScript : public ::testing::Test {
 protected:
  const redis::keyspace keys{stream};
  const std::string P = keys.prefix();

  void SetUp() override { redis_.cmd({"XGROUP", "CREATE", stream, "dispatcher", "0", "MKSTREAM"}); }

  /// Adds `n` entries and reads them into the group's pending list; returns their ids.
  std::vector<std::string> read_entries(int n) {
    publish_many(redis_, n);
    std::vector<std::string> ids;
    const auto reply = lines(redis_.cmd({"XREADGROUP", "GROUP", "dispatcher", "c", "COUNT",
                                         std::to_string(n), "STREAMS", stream, ">"}));
    // Flattened: stream name, then per entry its id, "payload", the payload.
    for (std::size_t i = 1; i + 2 < reply.size(); i += 3) ids.push_back(reply[i]);
    return ids;
  }

  /// The script's arguments for these entries, matched to `endpoints` (none by default),
  /// at `version`.
  std::vector<std::string> call(const std::vector<std::string>& entries, const std::string& version,
                                const std::vector<std::string>& endpoints = {},
                                std::size_t room = 0, const std::string& token = "token") {
    const auto now = unix_now_ms();
    redis::ingest_request request{stream, now,    3'600'000,    16,      room,
                                  token,  60'000, "dispatcher", version, redis::bucket_name(now),
                                  {}};
    // The request views its events' ids and delivery ids: they live here until it is
    // encoded (reserved: a string moved by a vector's growth would leave its view behind).
    std::vector<std::string> event_ids, order_keys, delivery_ids;
    delivery_ids.reserve(entries.size() * endpoints.size());
    for (const auto& id : entries) {
      event_ids.push_back("evt_" + id);
      order_keys.push_back(history::stream_order_key(id));
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& id = entries[i];
      request.events.push_back({event_ids[i],
                                "{}",
                                "account.connection.updated",
                                consumer_a,
                                connection_1,
                                "active",
                                1,
                                order_keys[i],
                                id,
                                {}});
      for (const auto& ep : endpoints) {
        delivery_ids.push_back(history::delivery_id(event_ids[i], ep, redis::bucket_name(now)));
        request.events.back().deliveries.push_back({ep, delivery_ids.back()});
      }
    }
    std::vector<std::string> args{"EVAL", redis::ingest_events.source, "1"};
    for (auto& a : args_of(redis::encode(request))) args.push_back(std::move(a));
    return args;
  }

  /// An attempt on a lease ("<delivery>|<endpoint>", as the lease set holds it): 200 when
  /// it succeeded, 500 otherwise.
  static redis::completion completion_of(const std::string& lease, const std::string& token,
                                         history::delivery_status status) {
    redis::completion c;
    c.delivery_id = lease.substr(0, lease.find('|'));
    c.endpoint_id = lease.substr(lease.find('|') + 1);
    c.token = token;
    c.status = status;
    c.status_code = status == history::delivery_status::succeeded ? 200 : 500;
    c.attempt = "1\t" + std::to_string(*c.status_code);
    return c;
  }

  redis_server redis_;
};

TEST_F(IngestScript, a_stale_endpoints_version_writes_and_acknowledges_nothing) {
  redis_.cmd({"SET", keys.endpoints_version(), "3"});
  const auto entries = read_entries(2);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(redis_.cmd(call(entries, "2")), "stale");
  EXPECT_EQ(redis_.cmd({"HEXISTS", keys.seen(), "evt_" + entries[0]}), "0");
  EXPECT_EQ(pending_count(redis_), "2");
  // At the current version the same call records and acknowledges both.
  redis_.cmd(call(entries, "3"));
  EXPECT_EQ(redis_.cmd({"HLEN", keys.seen()}), "2");
  EXPECT_EQ(pending_count(redis_), "0");
}

TEST_F(IngestScript, no_version_key_reads_as_zero) {
  const auto entries = read_entries(1);
  EXPECT_EQ(redis_.cmd(call(entries, "1")), "stale");
  redis_.cmd(call(entries, "0"));
  EXPECT_EQ(pending_count(redis_), "0");
}

/// How many times Redis ran `command` (inside scripts too) since the last CONFIG RESETSTAT.
long long calls_of(redis_server& redis, const std::string& command) {
  const auto stats = redis.cmd({"INFO", "commandstats"});
  const auto at = stats.find("cmdstat_" + command + ":calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(stats.substr(at + command.size() + 15));
}

template <typename Request>
std::vector<std::string> eval_args(const redis::script& s, const Request& request) {
  std::vector<std::string> args{"EVAL", s.source, "1"};
  for (auto& a : args_of(redis::encode(request))) args.push_back(std::move(a));
  return args;
}

// At 100 endpoints a call does per-endpoint work for one or two deliveries each, so each
// command per endpoint is about one per delivery: the endpoints' attempts in flight are
// read in one HMGET, and the queued ones made ready from what the call read and counted.
TEST_F(IngestScript, a_fanned_out_call_reads_in_flight_counts_once_and_makes_ready_from_them) {
  const std::vector<std::string> endpoints{"ep_1", "ep_2", "ep_3", "ep_4", "ep_5"};
  redis_.cmd({"HSET", P + "q:busy", "ep_1", "3", "ep_2", "16"});  // ep_2 is full
  const auto entries = read_entries(2);
  redis_.cmd({"CONFIG", "RESETSTAT"});
  const auto reply = redis_.cmd(call(entries, "0", endpoints));  // room 0: all queued
  EXPECT_FALSE(reply.starts_with("ERR")) << reply;
  EXPECT_EQ(calls_of(redis_, "hget"), 0) << "no HGET of q:busy per endpoint";
  // The dedupe, q:busy, and each endpoint's hash once (make_ready reuses what it read).
  EXPECT_EQ(calls_of(redis_, "hmget"), 2 + static_cast<long long>(endpoints.size()));
  // Each due queue's head read once: make_ready knows it from that and what the call queued.
  EXPECT_EQ(calls_of(redis_, "zrange"), static_cast<long long>(endpoints.size()));
  // Per endpoint its due queue and index; i:all, the connection's history per event, the
  // buckets; and q:ready once for all the endpoints. (The consumer's index is the caller's.)
  EXPECT_EQ(calls_of(redis_, "zadd"), 2 * static_cast<long long>(endpoints.size()) + 4 + 1);
  EXPECT_EQ(lines(redis_.cmd({"ZRANGE", P + "q:ready", "0", "-1"})),
            (std::vector<std::string>{"ep_1", "ep_3", "ep_4", "ep_5"}));
  EXPECT_EQ(redis_.cmd({"ZCARD", P + "q:due:ep_2"}), "2");
  EXPECT_EQ(redis_.cmd({"HGET", P + "q:busy", "ep_1"}), "3");
}

// A new delivery goes at once only to an endpoint with nothing due before it (first in,
// first out): work due now queues it, a retry due later does not.
TEST_F(IngestScript, a_delivery_waits_behind_work_due_now_and_not_behind_a_later_retry) {
  auto reply = redis_.cmd(call(read_entries(1), "0", {"ep_now", "ep_later"}));  // room 0
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  const auto later = std::to_string(unix_now_ms() + 60'000);
  const auto retry = lines(redis_.cmd({"ZRANGE", P + "q:due:ep_later", "0", "-1"})).at(0);
  // As a completion that failed would leave it: due later, and ready then.
  redis_.cmd({"ZADD", P + "q:due:ep_later", "XX", later, retry});
  redis_.cmd({"ZADD", P + "q:ready", "XX", later, "ep_later"});

  reply = redis_.cmd(call(read_entries(1), "0", {"ep_now", "ep_later", "ep_idle"}, 10));
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  const auto leased = lines(redis_.cmd({"SMEMBERS", P + "lease:token"}));
  ASSERT_EQ(leased.size(), 2u) << reply;
  for (const auto& lease : leased) EXPECT_EQ(lease.find("|ep_now"), std::string::npos) << lease;
  EXPECT_EQ(redis_.cmd({"ZCARD", P + "q:due:ep_now"}), "2");
  EXPECT_EQ(redis_.cmd({"ZSCORE", P + "q:ready", "ep_later"}), later);
  EXPECT_EQ(redis_.cmd({"HGET", P + "q:busy", "ep_later"}), "1");
}

// Layout 4: an event is one field of its hour (record line, newline, payload), not two,
// and the script stores the records the caller built (script_io.hpp: encode) as they are.
TEST_F(IngestScript, an_event_is_one_field_holding_its_record_and_payload) {
  const auto entries = read_entries(1);
  ASSERT_EQ(entries.size(), 1u);
  auto args = call(entries, "0", {"ep_1"});
  const auto reply = redis_.cmd(args);
  EXPECT_FALSE(reply.starts_with("ERR")) << reply;
  const auto bucket = keys.bucket(redis_.cmd({"HGET", keys.seen(), "evt_" + entries[0]}));
  EXPECT_EQ(redis_.cmd({"HLEN", bucket}), "2") << "e: and d:, no p:";
  const auto event = redis_.cmd({"HGET", bucket, "e:evt_" + entries[0]});
  const auto record = history::parse_event_record(event);
  ASSERT_TRUE(record) << event;
  EXPECT_EQ(record->connectionid, connection_1);
  ASSERT_EQ(record->delivery_ids.size(), 1u);
  EXPECT_EQ(history::event_payload(event), "{}");
  const auto d =
      history::parse_delivery_record(redis_.cmd({"HGET", bucket, "d:" + record->delivery_ids[0]}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, history::delivery_status::pending);
  EXPECT_EQ(d->endpoint_id, "ep_1");
  const auto members =
      lines(redis_.cmd({"ZRANGE", keys.connection_history(connection_1), "0", "-1"}));
  ASSERT_EQ(members.size(), 1u);
  const auto member = history::parse_history_member(members[0]);
  ASSERT_TRUE(member) << members[0];
  EXPECT_EQ(member->status, 'a');
  EXPECT_EQ(member->event_id, "evt_" + entries[0]);
  // The consumer's index and set of connections are the caller's plain writes, sent ahead
  // of the call (script_io.hpp: encode_event_indexes).
  EXPECT_EQ(redis_.cmd({"EXISTS", keys.index_consumer(consumer_a)}), "0");
  EXPECT_EQ(redis_.cmd({"EXISTS", keys.consumer_connections(consumer_a)}), "0");
}

// At 100 endpoints a call completes about one delivery per endpoint: the in-flight counts
// are read in one HMGET and written in one HSET or HDEL, and q:ready in one ZADD or ZREM,
// not a HINCRBY, HDEL and ZADD per endpoint. The counts stay exact.
TEST_F(IngestScript, completions_count_in_flight_and_make_ready_in_one_write_per_call) {
  const std::vector<std::string> endpoints{"ep_1", "ep_2", "ep_3", "ep_4", "ep_5"};
  auto reply = redis_.cmd(call(read_entries(2), "0", endpoints, 100));  // all 10 leased
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  const auto leases = lines(redis_.cmd({"SMEMBERS", P + "lease:token"}));  // "<delivery>|<ep>"
  ASSERT_EQ(leases.size(), 10u);
  reply = redis_.cmd(call(read_entries(1), "0", endpoints));  // one due per endpoint
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  for (const auto& ep : endpoints) ASSERT_EQ(redis_.cmd({"HGET", P + "q:busy", ep}), "2");

  const auto now = unix_now_ms();
  redis::complete_request done{stream, now, 16, {}};
  for (const auto& lease : leases) {
    done.completions.push_back(completion_of(lease, "token", history::delivery_status::succeeded));
  }
  redis_.cmd({"CONFIG", "RESETSTAT"});
  reply = redis_.cmd(eval_args(redis::complete_attempts, done));
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  EXPECT_EQ(lines(reply).front(), "1");
  EXPECT_EQ(calls_of(redis_, "hincrby"), 0);
  EXPECT_EQ(calls_of(redis_, "hdel"), 1) << "every count back to 0: one HDEL of q:busy";
  EXPECT_EQ(calls_of(redis_, "zadd"), 1) << "one ZADD of q:ready for the five endpoints";
  EXPECT_EQ(calls_of(redis_, "zrem"), 0);
  EXPECT_EQ(redis_.cmd({"HLEN", P + "q:busy"}), "0");
  EXPECT_EQ(lines(redis_.cmd({"ZRANGE", P + "q:ready", "0", "-1"})), endpoints);

  // The claim takes the five due ones: q:busy read once, each endpoint's hash once (what
  // makes it ready again is what the claim read), and each due queue once (one more than
  // it may take: the first one left is the next head).
  redis::claim_request claim{stream, now + 1, 100, 60'000, 16, "token2", "dispatcher"};
  redis_.cmd({"CONFIG", "RESETSTAT"});
  reply = redis_.cmd(eval_args(redis::claim_due, claim));
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  EXPECT_EQ(calls_of(redis_, "hget"), 0);
  EXPECT_EQ(calls_of(redis_, "zrange"), static_cast<long long>(endpoints.size()));
  // q:busy, and per endpoint its hash, its records and its payloads.
  EXPECT_EQ(calls_of(redis_, "hmget"), 1 + 3 * static_cast<long long>(endpoints.size()));
  EXPECT_EQ(calls_of(redis_, "zrem"), 1) << "the emptied endpoints leave q:ready in one ZREM";
  EXPECT_EQ(redis_.cmd({"ZCARD", P + "q:ready"}), "0");
  for (const auto& ep : endpoints) {
    EXPECT_EQ(redis_.cmd({"HGET", P + "q:busy", ep}), "1") << ep;
    EXPECT_EQ(redis_.cmd({"ZCARD", P + "q:due:" + ep}), "0") << ep;
  }
}

// A completion call carries runs of one token each (script_io.hpp: encode): leases of two
// ingest calls, completed interleaved, each in the form its kind names: a whole record, a
// first attempt to retry (its next attempt's time before the record), an attempt appended
// to the stored record; and one under a token that holds no such lease writes nothing.
TEST_F(IngestScript, one_completion_call_records_the_leases_of_several_tokens_interleaved) {
  const std::vector<std::string> endpoints{"ep_1", "ep_2"};
  ASSERT_FALSE(redis_.cmd(call(read_entries(1), "0", endpoints, 100, "tok_a")).starts_with("ERR"));
  ASSERT_FALSE(redis_.cmd(call(read_entries(1), "0", endpoints, 100, "tok_b")).starts_with("ERR"));
  const auto leases_a = lines(redis_.cmd({"SMEMBERS", P + "lease:tok_a"}));
  const auto leases_b = lines(redis_.cmd({"SMEMBERS", P + "lease:tok_b"}));
  ASSERT_EQ(leases_a.size(), 2u);
  ASSERT_EQ(leases_b.size(), 2u);

  const auto now = unix_now_ms();
  const auto whole = [&](redis::completion c) {
    history::delivery_record r;
    r.status = c.status;
    r.attempt_count = 1;
    r.last_status_code = c.status_code;
    r.next_attempt_at_ms = c.next_attempt_at_ms;
    r.created_at_ms = r.updated_at_ms = now;
    r.endpoint_id = c.endpoint_id;
    r.event_id = "evt";
    c.record = history::pack(r, c.attempt);
    return c;
  };
  auto succeeded = whole(completion_of(leases_a[0], "tok_a", history::delivery_status::succeeded));
  auto retrying = completion_of(leases_b[0], "tok_b", history::delivery_status::retrying);
  retrying.next_attempt_at_ms = now + 60'000;
  retrying = whole(retrying);
  auto appended = completion_of(leases_a[1], "tok_a", history::delivery_status::failed);
  appended.error = "answered 500";
  auto stranger = completion_of(leases_b[1], "tok_c", history::delivery_status::succeeded);
  auto last = whole(completion_of(leases_b[1], "tok_b", history::delivery_status::succeeded));
  redis::complete_request done{stream, now, 16, {succeeded, retrying, appended, stranger, last}};
  const auto reply = lines(redis_.cmd(eval_args(redis::complete_attempts, done)));
  ASSERT_GE(reply.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(reply.begin(), reply.begin() + 5),
            (std::vector<std::string>{"1", "1", "1", "0", "1"}));

  const auto record_of = [&](const redis::completion& c) {
    const auto bucket = std::string(history::bucket_of(c.delivery_id));
    return history::parse_delivery_record(
        redis_.cmd({"HGET", keys.bucket(bucket), "d:" + c.delivery_id}));
  };
  const auto first = record_of(succeeded);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, history::delivery_status::succeeded);
  const auto retry = record_of(retrying);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, history::delivery_status::retrying);
  EXPECT_EQ(redis_.cmd({"ZSCORE", P + "q:due:" + retrying.endpoint_id, retrying.delivery_id}),
            std::to_string(now + 60'000));
  // Appended to the pending record ingest wrote: its first attempt, with the clean error.
  const auto failed = record_of(appended);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, history::delivery_status::failed);
  EXPECT_EQ(failed->attempt_count, 1);
  EXPECT_EQ(failed->last_status_code, 500);
  EXPECT_EQ(failed->last_error, "answered 500");
  EXPECT_EQ(failed->attempts, (std::vector<std::string>{"1\t500"}));
  const auto later = record_of(last);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, history::delivery_status::succeeded);
  EXPECT_EQ(redis_.cmd({"EXISTS", P + "lease:tok_a"}), "0");
  EXPECT_EQ(redis_.cmd({"EXISTS", P + "lease:tok_b"}), "0");
}

// The claim reads one more than it may take: the first one left is the due queue's next
// head, which makes the endpoint ready again at its time, without another read.
TEST_F(IngestScript, a_claim_that_leaves_work_queued_makes_the_endpoint_ready_at_the_next_head) {
  auto reply = redis_.cmd(call(read_entries(2), "0", {"ep_1"}));  // both due now
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  const auto due = lines(redis_.cmd({"ZRANGE", P + "q:due:ep_1", "0", "-1"}));
  ASSERT_EQ(due.size(), 2u);
  const auto now = unix_now_ms();
  const auto later = std::to_string(now + 60'000);
  redis_.cmd({"ZADD", P + "q:due:ep_1", "XX", later, due[1]});

  redis::claim_request claim{stream, now + 1, 1, 60'000, 16, "token2", "dispatcher"};
  redis_.cmd({"CONFIG", "RESETSTAT"});
  reply = redis_.cmd(eval_args(redis::claim_due, claim));
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  EXPECT_NE(reply.find(due[0]), std::string::npos) << reply;
  EXPECT_EQ(reply.find(due[1]), std::string::npos) << reply;
  EXPECT_EQ(calls_of(redis_, "zrange"), 1) << "the due queue read once";
  EXPECT_EQ(redis_.cmd({"ZSCORE", P + "q:ready", "ep_1"}), later);
  EXPECT_EQ(redis_.cmd({"HGET", P + "q:busy", "ep_1"}), "1");
}

// A claim that finds an ordered head still waiting (an older entry is pending in the group)
// puts it back and goes on: the other endpoints of the same claim get their deliveries. A
// script error there would have kept what was already taken from the due queues out of
// every queue and lease: lost.
TEST_F(IngestScript, a_claim_puts_back_a_waiting_ordered_head_and_claims_the_other_endpoints) {
  redis_.cmd({"HSET", P + "ep:ep_o", "enabled", "1", "ordering", "connection"});
  redis_.cmd({"HSET", P + "ep:ep_p", "enabled", "1"});
  // An older entry read by an instance that has not ingested it yet.
  publish_many(redis_, 1);
  redis_.cmd(
      {"XREADGROUP", "GROUP", "dispatcher", "stalled", "COUNT", "1", "STREAMS", stream, ">"});
  auto reply = redis_.cmd(call(read_entries(1), "0", {"ep_p", "ep_o"}));  // no room: both due
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  const auto plain_due = lines(redis_.cmd({"ZRANGE", P + "q:due:ep_p", "0", "-1"}));
  const auto ordered_due = lines(redis_.cmd({"ZRANGE", P + "q:due:ep_o", "0", "-1"}));
  ASSERT_EQ(plain_due.size(), 1u);
  ASSERT_EQ(ordered_due.size(), 1u);
  const auto plain = plain_due[0], ordered = ordered_due[0];

  const auto now = unix_now_ms() + 1'000;  // past the ordered head's recheck
  redis::claim_request claim{stream, now, 100, 60'000, 16, "token2", "dispatcher"};
  reply = redis_.cmd(eval_args(redis::claim_due, claim));
  ASSERT_FALSE(reply.starts_with("ERR")) << reply;
  EXPECT_NE(reply.find(plain), std::string::npos) << reply;
  EXPECT_EQ(reply.find(ordered), std::string::npos) << reply;
  EXPECT_EQ(redis_.cmd({"SISMEMBER", P + "lease:token2", plain + "|ep_p"}), "1");
  // The head waits in its due queue, looked at again after the recheck interval.
  const auto recheck = std::to_string(now + claim.head_recheck_ms);
  EXPECT_EQ(redis_.cmd({"ZSCORE", P + "q:due:ep_o", ordered}), recheck);
  EXPECT_EQ(redis_.cmd({"ZSCORE", P + "q:ready", "ep_o"}), recheck);
  EXPECT_EQ(redis_.cmd({"HGET", P + "q:busy", "ep_o"}), "(nil)");
}

TEST_F(IngestScript, acknowledges_ten_thousand_entries_in_one_call) {
  // Lua's unpack fails past about 8,000 values; the largest batch is 10,000.
  const auto entries = read_entries(10'000);
  ASSERT_EQ(entries.size(), 10'000u);
  const auto reply = redis_.cmd(call(entries, "0"));
  EXPECT_FALSE(reply.starts_with("ERR")) << reply.substr(0, 200);
  EXPECT_EQ(pending_count(redis_), "0");
}

// ---------------------------------------------------------------------------------------
// The service.

TEST(Ingest, an_endpoint_created_on_one_instance_applies_at_once_on_another) {
  redis_server redis;
  // Both instances read the stream (endpoints belong to the stream's keyspace), so about
  // half of each round's events are read by `reader`, whose registry learns of the endpoint
  // only through the version check or its 250 ms poll, while the events are read within a
  // few milliseconds of the 201.
  in_process_dispatcher api(test_settings(redis.url()));
  in_process_dispatcher reader(test_settings(redis.url()));

  constexpr int rounds = 3;
  constexpr int events = 200;
  for (int round = 0; round < rounds; ++round) {
    test_receiver target;
    const auto created = api.api("POST", "/v1/endpoints", json{{"url", target.url()}}.dump());
    ASSERT_EQ(created.status, 201) << created.body;
    publish_many(redis, events);
    EXPECT_TRUE(eventually([&] { return webhook_ids(target).size() == events; }, 30s))
        << "round " << round << ": delivered " << webhook_ids(target).size() << " of " << events;
  }
  EXPECT_TRUE(eventually([&] { return pending_count(redis) == "0"; }));
}

TEST(Ingest, the_largest_batch_size_drains_a_backlog) {
  redis_server redis;
  test_receiver r;
  // Set the endpoint up before the backlog exists, then let one reader take 10,000 at once.
  {
    in_process_dispatcher setup(test_settings(redis.url()));
    ASSERT_EQ(setup.api("POST", "/v1/endpoints", json{{"url", r.url()}}.dump()).status, 201);
  }
  constexpr int events = 12'000;
  publish_many(redis, events);
  auto s = test_settings(redis.url());
  s.batch_size = 10'000;
  s.max_in_flight = 100'000;  // room for the whole batch in one read
  s.endpoint_concurrency = 64;
  in_process_dispatcher service(s);
  ASSERT_TRUE(r.wait_for_requests(events, 180s)) << r.requests().size();
  EXPECT_EQ(webhook_ids(r).size(), static_cast<std::size_t>(events));
  EXPECT_TRUE(eventually([&] { return pending_count(redis) == "0"; }));
  EXPECT_EQ(redis.cmd({"ZCARD", redis::keyspace(s.stream).index_all()}), std::to_string(events))
      << "one delivery each";
}

TEST(Ingest, dead_letters_are_capped_and_keep_an_excerpt_of_a_huge_payload) {
  redis_server redis;
  auto s = test_settings(redis.url());
  s.max_payload = 1024;
  s.dead_letter_max = 10;
  in_process_dispatcher service(s);
  for (int i = 0; i < 250; ++i) {
    redis.cmd({"XADD", stream, "*", "payload", "{not json " + std::to_string(i)});
  }
  // 1 MiB whose 4096th byte is inside a two-byte character.
  std::string huge(4095, 'a');
  huge += "\xC3\xA9";
  huge += std::string(1024 * 1024 - huge.size(), 'b');
  const auto huge_id = redis.cmd({"XADD", stream, "*", "payload", huge});
  ASSERT_TRUE(eventually(
      [&] {
        const auto newest =
            lines(redis.cmd({"XREVRANGE", "lifecycle:events:dead", "+", "-", "COUNT", "1"}));
        return !newest.empty() && newest.back() == huge_id;
      },
      20s));
  const auto newest =
      lines(redis.cmd({"XREVRANGE", "lifecycle:events:dead", "+", "-", "COUNT", "1"}));
  ASSERT_EQ(newest.size(), 7u);  // id, then payload, error, source_id with their values
  EXPECT_EQ(newest[1], "payload");
  EXPECT_EQ(newest[2], std::string(4095, 'a')) << "cut before the split character";
  EXPECT_EQ(newest[3], "error");
  EXPECT_NE(newest[4].find(std::to_string(huge.size()) + " bytes"), std::string::npos) << newest[4];
  const auto length = std::stoul(redis.cmd({"XLEN", "lifecycle:events:dead"}));
  EXPECT_GE(length, 10u);
  EXPECT_LE(length, 110u) << "MAXLEN ~ 10 trims whole nodes of at most 100 entries";
  EXPECT_TRUE(eventually([&] { return pending_count(redis) == "0"; }));
}

TEST(Ingest, the_service_trims_acknowledged_entries_past_the_retention) {
  redis_server redis;
  // Two hours old: past the shortest retention the settings allow (1h).
  const auto old_ms = unix_now_ms() - 2 * 3600 * 1000;
  for (int i = 1; i <= 5; ++i) {
    redis.cmd({"XADD", stream, std::to_string(old_ms) + "-" + std::to_string(i), "payload",
               event_json("account.connection.updated", consumer_a, connection_1, "active", i)});
  }
  redis.cmd({"XADD", stream, "*", "payload",
             event_json("account.connection.updated", consumer_a, connection_1, "active", 6)});
  auto s = test_settings(redis.url());
  s.retention = 1h;
  in_process_dispatcher service(s);
  EXPECT_TRUE(eventually(
      [&] {
        return redis.cmd({"XLEN", stream}) == "1";
      },
      45s))
      << redis.cmd({"XLEN", stream});
  EXPECT_EQ(pending_count(redis), "0");
}

// ---------------------------------------------------------------------------------------
// The trimmer's bound, one trim at a time.

class Trimmer : public ::testing::Test {
 protected:
  Trimmer() {
    settings_.retention = 1h;
    redis_.cmd({"XGROUP", "CREATE", stream, "dispatcher", "0", "MKSTREAM"});
  }

  ingest::trim_result trim_once() { return run_trimmer(&ingest::stream_trimmer::async_trim_once); }

  // One call of a trimmer step on a fresh connection, as the trimmer loop makes it.
  template <class Step>
  ingest::trim_result run_trimmer(Step step) {
    boost::asio::io_context io;
    redis::connection_options o;
    o.port = redis_.port();
    auto conn = std::make_shared<redis::connection>(io.get_executor(), o);
    ingest::stream_trimmer trimmer(io.get_executor(), *conn, settings_);
    ingest::trim_result result{make_error_code(std::errc::timed_out)};
    boost::asio::co_spawn(io, conn->async_run(), boost::asio::detached);
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          if (co_await conn->async_wait_connected(5s)) result = co_await std::invoke(step, trimmer);
          conn->stop();
        },
        boost::asio::detached);
    io.run();
    return result;
  }

  /// Entries two hours old, "<old>-1" ... "<old>-n".
  void add_old(int n) {
    for (int i = 1; i <= n; ++i) redis_.cmd({"XADD", stream, old(i), "payload", "{}"});
  }
  std::string old(int i) const { return std::to_string(old_ms_) + "-" + std::to_string(i); }
  std::vector<std::string> read(int n, const std::string& group = "dispatcher") {
    const auto reply = lines(redis_.cmd(
        {"XREADGROUP", "GROUP", group, "c", "COUNT", std::to_string(n), "STREAMS", stream, ">"}));
    std::vector<std::string> ids;
    for (std::size_t i = 1; i + 2 < reply.size(); i += 3) ids.push_back(reply[i]);
    return ids;
  }
  std::string first_id() {
    return lines(redis_.cmd({"XRANGE", stream, "-", "+", "COUNT", "1"}))[0];
  }
  std::string length() { return redis_.cmd({"XLEN", stream}); }

  ingest::trim_result sweep_once() {
    return run_trimmer(&ingest::stream_trimmer::async_sweep_once);
  }

  /// One event of `consumer` on `connection`, received at `now_ms`, delivered to
  /// `endpoints`, recorded by the ingest script itself.
  void ingest(std::int64_t now_ms, const std::string& id, const std::string& type,
              const std::string& connection, std::int64_t created,
              const std::vector<std::string>& endpoints = {"ep_1"}) {
    const auto bucket = redis::bucket_name(now_ms);
    redis::ingest_request request{stream, now_ms,       3'600'000, 16,     0, "token",
                                  60'000, "dispatcher", "0",       bucket, {}};
    const auto entry = std::to_string(now_ms) + "-1";
    const auto order = history::stream_order_key(entry);
    std::vector<std::string> delivery_ids;  // viewed by the request until it is encoded
    delivery_ids.reserve(endpoints.size());
    request.events.push_back(
        {id, "{}", type, consumer_a, connection, "active", created, order, entry, {}});
    for (const auto& ep : endpoints) {
      delivery_ids.push_back(history::delivery_id(id, ep, bucket));
      request.events.back().deliveries.push_back({ep, delivery_ids.back()});
    }
    // As stream_reader records a batch: the caller's index writes, then the call.
    for (const auto& index : redis::encode_event_indexes(request)) redis_.cmd(args_of(index));
    std::vector<std::string> args{"EVAL", redis::ingest_events.source, "1"};
    for (auto& a : args_of(redis::encode(request))) args.push_back(std::move(a));
    redis_.cmd(args);
  }

  redis_server redis_;
  config::settings settings_;
  std::int64_t old_ms_ = unix_now_ms() - 2 * 3600 * 1000;
};

TEST_F(Trimmer, forgets_consumers_idle_past_the_limit_with_nothing_pending) {
  for (int i = 0; i < 3; ++i) redis_.cmd({"XADD", stream, "*", "payload", "{}"});
  const auto read_as = [&](const std::string& consumer) {
    const auto reply = lines(redis_.cmd(
        {"XREADGROUP", "GROUP", "dispatcher", consumer, "COUNT", "1", "STREAMS", stream, ">"}));
    return reply.at(1);
  };
  redis_.cmd({"XACK", stream, "dispatcher", read_as("stopped")});
  read_as("stopped_holding");  // left pending: it must stay until XAUTOCLAIM takes it
  // Idleness is time itself: both must be idle past the limit, and a fresh reader not.
  std::this_thread::sleep_for(120ms);
  redis_.cmd({"XACK", stream, "dispatcher", read_as("reading")});

  const auto forget = [](ingest::stream_trimmer& t) { return t.async_forget_idle_consumers(60ms); };
  const auto forgotten = run_trimmer(forget);
  ASSERT_FALSE(forgotten.ec) << forgotten.ec.message();
  EXPECT_EQ(forgotten.removed, 1u);
  std::set<std::string> names;
  const auto info = lines(redis_.cmd({"XINFO", "CONSUMERS", stream, "dispatcher"}));
  for (std::size_t i = 0; i + 1 < info.size(); ++i) {
    if (info[i] == "name") names.insert(info[i + 1]);
  }
  EXPECT_EQ(names, (std::set<std::string>{"stopped_holding", "reading"}));
  EXPECT_EQ(pending_count(redis_), "1");

  // Without a stream or a group there is nothing to forget, and no error.
  redis_.cmd({"DEL", stream});
  const auto none = run_trimmer(forget);
  EXPECT_FALSE(none.ec) << none.ec.message();
  EXPECT_EQ(none.removed, 0u);
}

TEST_F(Trimmer, removes_only_old_acknowledged_entries) {
  add_old(6);
  redis_.cmd({"XADD", stream, "*", "payload", "{}"});  // recent
  ASSERT_EQ(read(4).size(), 4u);                       // old 1-4 pending, 5-6 unread
  redis_.cmd({"XACK", stream, "dispatcher", old(1), old(2)});

  auto r = trim_once();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.removed, 2u);  // 3 and 4 are pending
  EXPECT_EQ(first_id(), old(3));

  redis_.cmd({"XACK", stream, "dispatcher", old(3), old(4)});
  r = trim_once();
  EXPECT_EQ(r.removed, 2u);  // 5 and 6 are unread
  EXPECT_EQ(first_id(), old(5));

  const auto rest = read(10);
  ASSERT_EQ(rest.size(), 3u);
  redis_.cmd({"XACK", stream, "dispatcher", rest[0], rest[1], rest[2]});
  r = trim_once();
  EXPECT_EQ(r.removed, 2u);  // the recent one is within the retention
  EXPECT_EQ(length(), "1");
}

TEST_F(Trimmer, a_lagging_group_keeps_what_it_has_not_read) {
  add_old(3);
  redis_.cmd({"XGROUP", "CREATE", stream, "analytics", "0"});
  const auto ids = read(3);
  redis_.cmd({"XACK", stream, "dispatcher", ids[0], ids[1], ids[2]});
  EXPECT_EQ(trim_once().removed, 0u);
  ASSERT_EQ(read(1, "analytics").size(), 1u);  // analytics: 1 pending, 2-3 unread
  EXPECT_EQ(trim_once().removed, 0u);
  redis_.cmd({"XACK", stream, "analytics", old(1)});
  EXPECT_EQ(trim_once().removed, 1u);
  EXPECT_EQ(length(), "2");
}

TEST_F(Trimmer, nothing_without_the_group_or_the_stream) {
  add_old(2);
  redis_.cmd({"XGROUP", "DESTROY", stream, "dispatcher"});
  auto r = trim_once();
  EXPECT_FALSE(r.ec);
  EXPECT_EQ(r.removed, 0u);
  EXPECT_EQ(length(), "2");
  redis_.cmd({"DEL", stream});
  r = trim_once();
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.removed, 0u);
}

// The keys an event writes without a TTL (its connection's history and set, its
// consumer's and its endpoints' indexes) lose an expired hour's entries in the retention
// sweep; a connection with later events keeps its newest status.
TEST_F(Trimmer, the_sweep_retires_an_expired_hours_connection_history_and_consumer_index) {
  const redis::keyspace keys{stream};
  // Odd: no call here is one of the 64 that trim the indexes themselves.
  const auto now = unix_now_ms() | 1;
  const auto old = now - 3 * 3600 * 1000;  // past the 1 h retention
  ingest(old, "evt_old_1", "account.connection.created", connection_1, 100, {"ep_1", "ep_2"});
  ingest(old, "evt_old_2", "account.connection.updated", connection_1, 200);
  ingest(old, "evt_gone", "account.connection.updated", "conn-only-old", 150);
  ingest(now, "evt_new", "invoice.paid", connection_1, 300);  // not a status change
  const auto history = keys.connection_history(connection_1);
  const auto consumer_connections = keys.consumer_connections(consumer_a);
  EXPECT_EQ(redis_.cmd({"PTTL", history}), "-1") << "no TTL written per event";
  EXPECT_EQ(redis_.cmd({"PTTL", consumer_connections}), "-1");
  EXPECT_EQ(redis_.cmd({"PTTL", keys.index_consumer(consumer_a)}), "-1");
  EXPECT_EQ(redis_.cmd({"PTTL", keys.index_endpoint("ep_1")}), "-1");
  ASSERT_EQ(redis_.cmd({"ZCARD", keys.index_endpoint("ep_1")}), "4");
  ASSERT_EQ(redis_.cmd({"ZCARD", keys.index_endpoint("ep_2")}), "1");
  // One member per event, the one fanned out to two endpoints included (layout 3).
  ASSERT_EQ(redis_.cmd({"ZCARD", keys.index_consumer(consumer_a)}), "4");
  EXPECT_EQ(redis_.cmd({"ZSCORE", keys.index_consumer(consumer_a), "evt_old_1"}),
            std::to_string(old));

  const auto swept = sweep_once();
  ASSERT_FALSE(swept.ec) << swept.ec.message();
  EXPECT_EQ(swept.removed, 1u);
  EXPECT_EQ(redis_.cmd({"EXISTS", keys.bucket(redis::bucket_name(old))}), "0");
  // The newest status (evt_old_2) stays beside the later event; the older one goes.
  const auto members = lines(redis_.cmd({"ZRANGE", history, "0", "-1"}));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_NE(members[0].find("evt_old_2"), std::string::npos);
  EXPECT_NE(members[1].find("evt_new"), std::string::npos);
  // A connection with nothing left is gone, and so is it from its consumer's set.
  EXPECT_EQ(redis_.cmd({"EXISTS", keys.connection_history("conn-only-old")}), "0");
  EXPECT_EQ(lines(redis_.cmd({"SMEMBERS", consumer_connections})),
            std::vector<std::string>{connection_1});
  EXPECT_EQ(lines(redis_.cmd({"ZRANGE", keys.index_consumer(consumer_a), "0", "-1"})),
            std::vector<std::string>{"evt_new"});
  // The endpoints' indexes (no TTL either) lose the hour's deliveries, found through the
  // hour's delivery records.
  EXPECT_EQ(
      lines(redis_.cmd({"ZRANGE", keys.index_endpoint("ep_1"), "0", "-1"})),
      std::vector<std::string>{history::delivery_id("evt_new", "ep_1", redis::bucket_name(now))});
  EXPECT_EQ(redis_.cmd({"EXISTS", keys.index_endpoint("ep_2")}), "0");
}

// All deliveries are indexed once per event; the ingest script's trim (one call in 64, by
// its time) takes out events received before the retention, whatever their fan-out, and
// the endpoints' indexes of deliveries alike.
TEST_F(Trimmer, the_ingest_trim_drops_old_events_from_the_index_of_all_deliveries) {
  const redis::keyspace keys{stream};
  const auto now = unix_now_ms() / 64 * 64;  // a call that trims
  const auto old = now - 3 * 3600 * 1000 - 1;
  ingest(old, "evt_old", "invoice.paid", connection_1, 100, {"ep_1", "ep_2", "ep_3"});
  ingest(old + 1, "evt_old_too", "invoice.paid", connection_1, 101, {"ep_1"});
  ASSERT_EQ(lines(redis_.cmd({"ZRANGE", keys.index_all(), "0", "-1"})),
            (std::vector<std::string>{"evt_old", "evt_old_too"}));
  ASSERT_EQ(redis_.cmd({"ZCARD", keys.index_endpoint("ep_1")}), "2");
  ingest(now, "evt_new", "invoice.paid", connection_1, 200, {"ep_1", "ep_2"});
  EXPECT_EQ(lines(redis_.cmd({"ZRANGE", keys.index_all(), "0", "-1"})),
            std::vector<std::string>{"evt_new"});
  EXPECT_EQ(
      lines(redis_.cmd({"ZRANGE", keys.index_endpoint("ep_1"), "0", "-1"})),
      std::vector<std::string>{history::delivery_id("evt_new", "ep_1", redis::bucket_name(now))});
}

}  // namespace
}  // namespace dispatcher::testing
