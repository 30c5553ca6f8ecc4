// The Redis layout's pure parts: key names under the stream's hash tag, hour buckets and
// the delivery ids that name them, the packed records, the layout version check, and the
// encode/decode pair of every script (argument positions and reply shapes live there only).
#include <set>

#include <gtest/gtest.h>

#include "dispatcher/history/connection.hpp"
#include "dispatcher/history/delivery.hpp"
#include "dispatcher/ingest/retention.hpp"
#include "dispatcher/redis/keys.hpp"
#include "dispatcher/redis/script_io.hpp"
#include "dispatcher/redis/scripts.hpp"
#include "tests/support/replies.hpp"

namespace dispatcher {
namespace {

using history::delivery_status;

using testing::args_of;
using testing::array_reply;
using testing::integer_reply;
using testing::string_reply;

TEST(layout, every_key_carries_the_streams_hash_tag) {
  const redis::keyspace keys("lifecycle:events");
  EXPECT_EQ(keys.prefix(), "{lifecycle:events}:");
  for (const auto& key :
       {keys.layout(), keys.endpoint("ep_1"), keys.endpoints(), keys.endpoints_version(),
        keys.seen(), keys.bucket("0001a2"), keys.buckets(), keys.index_all(),
        keys.index_endpoint("ep_1"), keys.index_consumer("c"), keys.connection_history("n"),
        keys.consumer_connections("c"), keys.due("ep_1")}) {
    EXPECT_TRUE(key.starts_with("{lifecycle:events}:")) << key;
  }
  EXPECT_EQ(keys.bucket("0001a2"), "{lifecycle:events}:b:0001a2");
  EXPECT_EQ(keys.connection_history("n1"), "{lifecycle:events}:conn:n1:history");
}

TEST(layout, buckets_are_hours_named_in_six_hex_digits) {
  EXPECT_EQ(redis::bucket_name(0), "000000");
  EXPECT_EQ(redis::bucket_name(3'599'999), "000000");
  EXPECT_EQ(redis::bucket_name(3'600'000), "000001");
  // Hour 495,228 is 0x78e7c.
  EXPECT_EQ(redis::bucket_name(495'228LL * 3'600'000), "078e7c");
}

TEST(layout, a_delivery_id_is_deterministic_and_names_its_bucket) {
  const auto id = history::delivery_id("evt_1", "ep_1", "078e7c");
  EXPECT_EQ(id.size(), 4u + 24u);
  EXPECT_TRUE(id.starts_with("dlv_078e7c"));
  EXPECT_EQ(id, history::delivery_id("evt_1", "ep_1", "078e7c"));
  EXPECT_NE(id, history::delivery_id("evt_1", "ep_2", "078e7c"));
  EXPECT_NE(id, history::delivery_id("evt_2", "ep_1", "078e7c"));
  EXPECT_EQ(history::bucket_of(id), "078e7c");
  EXPECT_EQ(history::bucket_of("dlv_"), "");
}

TEST(layout, keys_appended_to_a_buffer_are_the_keys_made_alone) {
  // The reader makes a batch's order keys and delivery ids into one buffer, one after
  // another: each must be the key made on its own, whatever precedes it.
  std::string made = "x";
  history::append_stream_order_key(made, "1700000000000-12");
  history::append_delivery_id(made, "evt_1", "ep_1", "078e7c");
  history::append_stream_order_key(made, "junk");
  EXPECT_EQ(made, "x" + history::stream_order_key("1700000000000-12") +
                      history::delivery_id("evt_1", "ep_1", "078e7c") +
                      history::stream_order_key("junk"));
  EXPECT_EQ(history::stream_order_key("1700000000000-12"), "n1700000000000c12");
}

TEST(layout, the_layout_check_refuses_other_versions_and_the_first_layout) {
  EXPECT_EQ(redis::layout_problem(std::nullopt, false), std::nullopt) << "an empty Redis";
  EXPECT_EQ(redis::layout_problem(std::string(redis::layout_version), false), std::nullopt);
  const auto old = redis::layout_problem(std::nullopt, true);
  ASSERT_TRUE(old);
  EXPECT_NE(old->find("layout 1"), std::string::npos) << *old;
  const auto newer = redis::layout_problem(std::string("5"), false);
  ASSERT_TRUE(newer);
  EXPECT_NE(newer->find("layout 5"), std::string::npos) << *newer;
  // Layout 2 indexed all deliveries and a consumer's per delivery; layout 3 per event;
  // layout 4 keeps an event's payload in its e: field (layout 3 had a p: field).
  EXPECT_EQ(redis::layout_version, "4");
  for (const char* older : {"2", "3"}) {
    const auto problem = redis::layout_problem(std::string(older), false);
    ASSERT_TRUE(problem);
    EXPECT_NE(problem->find(std::string("holds data in layout ") + older +
                            "; this dispatcher reads layout 4"),
              std::string::npos)
        << *problem;
  }
}

TEST(layout, a_delivery_record_round_trips_with_its_attempts) {
  history::delivery_record r;
  r.status = delivery_status::retrying;
  r.attempt_count = 2;
  r.last_status_code = 503;
  r.next_attempt_at_ms = 1'700'000'060'000;
  r.created_at_ms = 1'700'000'000'000;
  r.updated_at_ms = 1'700'000'030'000;
  r.manual = true;
  r.event_id = "evt_1";
  r.endpoint_id = "ep_1";
  r.last_error = "receiver\tanswered\n503";
  r.attempts = {R"({"attempt":1})", R"({"attempt":2})"};
  const auto packed = history::pack(r);
  const auto back = history::parse_delivery_record(packed);
  ASSERT_TRUE(back) << packed;
  EXPECT_EQ(back->status, delivery_status::retrying);
  EXPECT_EQ(back->attempt_count, 2);
  EXPECT_EQ(back->last_status_code, 503);
  EXPECT_EQ(back->next_attempt_at_ms, 1'700'000'060'000);
  EXPECT_EQ(back->created_at_ms, 1'700'000'000'000);
  EXPECT_EQ(back->updated_at_ms, 1'700'000'030'000);
  EXPECT_TRUE(back->manual);
  EXPECT_EQ(back->event_id, "evt_1");
  EXPECT_EQ(back->endpoint_id, "ep_1");
  EXPECT_EQ(back->last_error, "receiver answered 503") << "tabs and newlines cannot split it";
  EXPECT_EQ(back->attempts, r.attempts);
}

TEST(layout, the_record_the_ingest_script_writes_reads_as_pending) {
  // pending, 0 attempts, no code, next = created = updated = now, not manual, no error.
  const auto r = history::parse_delivery_record("pending\t0\t\t5\t5\t5\t0\tevt_1\tep_1\t");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, delivery_status::pending);
  EXPECT_EQ(r->last_status_code, std::nullopt);
  EXPECT_EQ(r->next_attempt_at_ms, 5);
  EXPECT_TRUE(r->attempts.empty());
}

TEST(layout, damaged_records_are_refused_not_misread) {
  for (const char* bad :
       {"", "pending", "pending\t0\t\t5\t5\t5\t0\tevt_1\tep_1",
        "paused\t0\t\t5\t5\t5\t0\tevt_1\tep_1\t", "pending\tx\t\t5\t5\t5\t0\tevt_1\tep_1\t",
        "pending\t0\t\t5\t5\t5\t0\t\tep_1\t"}) {
    EXPECT_FALSE(history::parse_delivery_record(bad)) << bad;
  }
  EXPECT_FALSE(history::parse_event_record("a\tb\tc\tnot-a-time\to\t"));
  EXPECT_FALSE(history::parse_event_record("a\tb\tc\t1\to"));
}

TEST(layout, an_event_record_round_trips) {
  history::event_record e{"account.connection.created", "c1", "", 42, "000-1", {"dlv_a", "dlv_b"}};
  const auto back = history::parse_event_record(history::pack(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->type, e.type);
  EXPECT_EQ(back->connectionid, "");
  EXPECT_EQ(back->received_at_ms, 42);
  EXPECT_EQ(back->delivery_ids, e.delivery_ids);
  e.delivery_ids.clear();
  EXPECT_TRUE(history::parse_event_record(history::pack(e))->delivery_ids.empty());
}

TEST(layout, expired_buckets_are_those_that_ended_before_the_retention) {
  using namespace std::chrono_literals;
  const std::int64_t hour = redis::bucket_ms;
  // At 10:30 with 2 h of retention, everything before 08:30 may go: hours up to 07.
  EXPECT_EQ(ingest::last_expired_bucket(10 * hour + hour / 2, 2h, hour), 7);
  EXPECT_EQ(ingest::last_expired_bucket(10 * hour, 2h, hour), 7);
  EXPECT_EQ(ingest::last_expired_bucket(3 * hour, 2h, hour), 0);
  EXPECT_EQ(ingest::last_expired_bucket(2 * hour + 1, 2h, hour), std::nullopt);
}

TEST(connection_history, order_keys_sort_as_the_stream_does) {
  const std::vector<std::string> ids{"0-0",
                                     "1-5",
                                     "9-0",
                                     "10-0",
                                     "10-1",
                                     "10-2",
                                     "10-10",
                                     "1700000000000-0",
                                     "1700000000000-9",
                                     "1700000000000-10",
                                     "18446744073709551615-18446744073709551615"};
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
    EXPECT_LT(history::stream_order_key(ids[i]), history::stream_order_key(ids[i + 1]))
        << ids[i] << " before " << ids[i + 1];
  }
  EXPECT_EQ(history::stream_order_key("1700000000000-3"), "n1700000000000b3");
  EXPECT_EQ(history::stream_order_key("5"), "b5b0") << "a bare ms is ms-0";
}

TEST(connection_history, members_round_trip_and_stay_compact) {
  history::history_member m{history::stream_order_key("1795956600155-0"), 'a', "079cbc",
                            "3f2c1a9e-1111-2222-3333-444455556666", "account.connection.created"};
  const auto packed = history::pack(m);
  // Redis keeps a sorted set compact (listpack) only while members are at most 64 bytes.
  EXPECT_LE(packed.size(), 64u) << packed;
  const auto back = history::parse_history_member(packed);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->order, m.order);
  EXPECT_EQ(back->status, 'a');
  EXPECT_EQ(back->bucket, "079cbc");
  EXPECT_EQ(back->event_id, m.event_id);
  EXPECT_EQ(back->type, "account.connection.created");
  m.type = "billing.invoice.paid";
  m.status = '-';
  EXPECT_EQ(history::parse_history_member(history::pack(m))->type, "billing.invoice.paid");
  for (const char* bad : {"", "x", "o|a|b|e", "o|ab|b|e|c", "o|x|b|e|c", "o|a|b||c", "o|a|b|e|"}) {
    EXPECT_FALSE(history::parse_history_member(bad)) << bad;
  }
}

TEST(connection_history, entries_show_a_time_or_the_stored_number) {
  history::history_member m{"b1b0", 'i', "000000", "evt_1", "account.connection.updated"};
  const auto entry = history::history_entry_json(m, 1'700'000'000);
  EXPECT_EQ(entry["status"], "inactive");
  EXPECT_EQ(entry["at"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(history::history_entry_json(m, 9'223'372'036'854'775'807LL)["at"],
            9'223'372'036'854'775'807LL);
}

// An ingest call at 1000 ms on stream "s", with its first event: an update (active) of
// connection "n" of consumer "c", delivered to ep_1 as dlv_1.
redis::ingest_request sample_ingest_request() {
  redis::ingest_request r{"s", 1000, 2000, 16, 3, "tok", 4000, "g", "7", "000000", {}};
  r.events.push_back({"evt_1",
                      "{}",
                      "account.connection.updated",
                      "c",
                      "n",
                      "active",
                      12,
                      "o",
                      "1-0",
                      {{"ep_1", "dlv_1"}}});
  return r;
}

TEST(script_io, ingest_arguments_are_in_the_scripts_order) {
  auto r = sample_ingest_request();
  r.events.push_back({"evt_2", "{}", "t", "c", "", "", 13, "p", "1-1", {}});
  const auto args = args_of(redis::encode(r));
  const std::vector<std::string> want{
      "s", "1000", "2000", "16", "3", "tok", "4000", "g", "7", "000000", "50",
      // id, e: value (record, newline, body), history member, connection, created, order,
      // stream entry, deliveries; then per delivery d: value, endpoint, delivery id.
      "evt_1", "account.connection.updated\tc\tn\t1000\to\tdlv_1\n{}", "o|a|000000|evt_1|u", "n",
      "12", "o", "1-0", "1", "pending\t0\t\t1000\t1000\t1000\t0\tevt_1\tep_1\t", "ep_1", "dlv_1",
      // No connection: no member.
      "evt_2", "t\tc\t\t1000\tp\t\n{}", "", "", "13", "p", "1-1", "0"};
  EXPECT_EQ(args, want);
  EXPECT_EQ(args.size(),
            redis::ingest_header_args + redis::ingest_event_args(1) + redis::ingest_event_args(0));
}

// The consumer's index and set of connections, written by the caller ahead of the ingest
// call: an index entry only for an event with deliveries, a set member only for a
// connection event that says its status; both idempotent (NX, SADD).
TEST(script_io, the_event_indexes_written_ahead_of_the_ingest_call) {
  auto r = sample_ingest_request();
  // Delivered nowhere, and not a status change: neither.
  r.events.push_back(
      {"evt_2", "{}", "account.connection.updated", "c2", "n2", "", 13, "p", "1-1", {}});
  // A status change without deliveries: only the connection; an event without one: only
  // the index.
  r.events.push_back(
      {"evt_3", "{}", "account.connection.deleted", "c3", "n3", "", 14, "q", "1-2", {}});
  r.events.push_back(
      {"evt_4", "{}", "billing.invoice.paid", "c4", "", "", 15, "r", "1-3", {{"ep_1", "dlv_4"}}});
  std::vector<std::vector<std::string>> got;
  for (const auto& c : redis::encode_event_indexes(r)) got.push_back(args_of(c));
  const std::vector<std::vector<std::string>> want{
      {"ZADD", "{s}:i:consumer:c", "NX", "1000", "evt_1"},
      {"SADD", "{s}:consumer:c:connections", "n"},
      {"SADD", "{s}:consumer:c3:connections", "n3"},
      {"ZADD", "{s}:i:consumer:c4", "NX", "1000", "evt_4"}};
  EXPECT_EQ(got, want);
}

TEST(script_io, the_ingest_records_are_what_the_history_packs_and_reads) {
  // The caller builds what the script stores: the same bytes as history::pack, so the
  // history reads them back (a record the parser refuses would vanish from every list).
  redis::ingest_event e{
      "evt_9", "{}",  "account.connection.created",          "cons", "conn", "active", 5,
      "b1b0",  "1-0", {{"ep_a", "dlv_a"}, {"ep_b", "dlv_b"}}};
  e.body = "{\"a\":\"x\ty\"}\n";  // tabs and newlines in the payload stay its own
  const auto event = redis::event_value(e, "1700000000000");
  EXPECT_EQ(event, history::pack(history::event_record{"account.connection.created",
                                                       "cons",
                                                       "conn",
                                                       1'700'000'000'000,
                                                       "b1b0",
                                                       {"dlv_a", "dlv_b"}}) +
                       "\n" + std::string(e.body));
  const auto back = history::parse_event_record(event);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->delivery_ids, (std::vector<std::string>{"dlv_a", "dlv_b"}));
  EXPECT_EQ(history::event_payload(event), e.body);
  EXPECT_EQ(history::event_payload(history::pack(*back)), std::nullopt) << "a record line alone";
  const auto pending = redis::pending_value("evt_9", "ep_b", "1700000000000");
  history::delivery_record d;
  d.next_attempt_at_ms = d.created_at_ms = d.updated_at_ms = 1'700'000'000'000;
  d.event_id = "evt_9";
  d.endpoint_id = "ep_b";
  EXPECT_EQ(pending, history::pack(d));
  const auto read = history::parse_delivery_record(pending);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, delivery_status::pending);
  EXPECT_EQ(read->endpoint_id, "ep_b");
}

TEST(connection_history, status_changes_are_the_connection_events_that_say_one) {
  EXPECT_EQ(history::status_change("account.connection.created", "active"), 'a');
  EXPECT_EQ(history::status_change("account.connection.updated", "inactive"), 'i');
  EXPECT_EQ(history::status_change("account.connection.deleted", "active"), 'd');
  EXPECT_EQ(history::status_change("account.connection.updated", ""), '-');
  EXPECT_EQ(history::status_change("billing.invoice.paid", "active"), '-');
  EXPECT_EQ(history::status_change("account.connection.other", "inactive"), 'i');
}

TEST(script_io, ingest_replies_decode_or_are_refused) {
  auto stale = redis::decode_ingest(string_reply("stale"));
  ASSERT_TRUE(stale);
  EXPECT_TRUE(stale->stale);
  EXPECT_FALSE(redis::decode_ingest(string_reply("other")));
  auto ok = redis::decode_ingest(array_reply(
      {array_reply({integer_reply(1), integer_reply(-1)}),
       array_reply({string_reply("dlv_1"), string_reply("ep_1"), string_reply("evt_1")}),
       integer_reply(2), array_reply({string_reply("ep_2")})}));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->counts, (std::vector<long long>{1, -1}));
  EXPECT_EQ(ok->queued_for, std::vector<std::string>{"ep_2"});
  ASSERT_EQ(ok->leased.size(), 1u);
  EXPECT_EQ(ok->leased[0].endpoint_id, "ep_1");
  EXPECT_EQ(ok->leased[0].event_id, "evt_1");
  EXPECT_TRUE(ok->queued);
  EXPECT_FALSE(redis::decode_ingest(
      array_reply({array_reply({}), array_reply({string_reply("x")}), integer_reply(0)})))
      << "leases come in threes";
}

TEST(script_io, claims_decode_with_payloads_that_may_be_gone) {
  redis::reply nil;
  auto r = redis::decode_claim(array_reply(
      {integer_reply(2),
       array_reply(
           {array_reply({string_reply("dlv_1"), string_reply("ep_1"), string_reply("evt_1"),
                         string_reply("3"), string_reply("{}"), string_reply("1"),
                         string_reply("1700")}),
            array_reply({string_reply("dlv_2"), string_reply("ep_1"), string_reply("evt_2"),
                         string_reply("0"), nil, string_reply("0"), string_reply("1800")})})}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expired_leases, 2);
  ASSERT_EQ(r->claimed.size(), 2u);
  EXPECT_EQ(r->claimed[0].attempts_before, 3);
  EXPECT_EQ(r->claimed[0].payload, "{}");
  EXPECT_TRUE(r->claimed[0].manual);
  EXPECT_EQ(r->claimed[0].created_at_ms, 1700);
  EXPECT_EQ(r->claimed[1].payload, std::nullopt);
  EXPECT_FALSE(r->claimed[1].manual);
  EXPECT_EQ(args_of(redis::encode(redis::claim_request{"s", 5, 10, 60, 16, "tok", "g", 50})),
            (std::vector<std::string>{"s", "5", "10", "60", "16", "tok", "g", "50"}));
}

TEST(script_io, completions_carry_typed_status_and_a_clean_error) {
  // A first attempt that will be retried: the whole record, after the next attempt's time.
  redis::completion first;
  first.delivery_id = "dlv_1";
  first.endpoint_id = "ep_1";
  first.token = "tok";
  first.status = delivery_status::retrying;
  first.next_attempt_at_ms = 99;
  first.status_code = 500;
  first.error = "line one";
  first.attempt = "{}";
  first.record = "packed";
  // Under the same token, a later attempt that failed: appended to the stored record,
  // with a clean error, and a reason to disable the endpoint.
  redis::completion later = first;
  later.delivery_id = "dlv_2";
  later.status = delivery_status::failed;
  later.next_attempt_at_ms.reset();
  later.error = "line one\nline two";
  later.record.clear();
  later.disable_reason = "answered 410";
  // Under another token, a success with its whole record: four strings; and one that made
  // no attempt.
  redis::completion fast = first;
  fast.delivery_id = "dlv_3";
  fast.token = "tok2";
  fast.status = delivery_status::succeeded;
  redis::completion unattempted = fast;
  unattempted.delivery_id = "dlv_4";
  unattempted.status = delivery_status::failed;
  unattempted.attempt.clear();
  unattempted.record.clear();
  unattempted.status_code.reset();
  unattempted.next_attempt_at_ms.reset();
  const auto args = args_of(redis::encode(
      redis::complete_request{"s", 7, 16, {first, later, fast, unattempted}, 3, 1000, 2000}));
  // clang-format off
  const std::vector<std::string> want{
      "s", "7", "16", "3", "1000", "2000",
      // A run of one token: the token, its count, then each completion.
      "tok", "2",
      // delivery, endpoint, kind (status, attempted, whole record or appended, disable).
      "dlv_1", "ep_1", "r1r-", "99", "packed",
      "dlv_2", "ep_1", "f1ad", "", "500", "line one line two", "{}", "answered 410",
      "tok2", "2",
      "dlv_3", "ep_1", "s1r-", "packed",
      "dlv_4", "ep_1", "f0a-", "", "", "line one", ""};
  // clang-format on
  EXPECT_EQ(args, want);
  auto reply = redis::decode_complete(
      array_reply({array_reply({integer_reply(1), integer_reply(0)}), integer_reply(1),
                   array_reply({string_reply("ep_1"), string_reply("answered 410")})}));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->written, (std::vector<bool>{true, false}));
  EXPECT_TRUE(reply->due_now);
  ASSERT_EQ(reply->disabled.size(), 1u);
  EXPECT_EQ(reply->disabled[0].endpoint_id, "ep_1");
  EXPECT_EQ(reply->disabled[0].reason, "answered 410");
  // An endpoint without its reason is a reply of another shape.
  EXPECT_FALSE(redis::decode_complete(
      array_reply({array_reply({}), integer_reply(0), array_reply({string_reply("ep_1")})})));
}

TEST(script_io, release_requeue_and_wake_arguments) {
  redis::release_request release{"s", 1, "tok", 16, {{"dlv_1", "ep_1"}, {"dlv_2", "ep_2"}}};
  EXPECT_EQ(args_of(redis::encode(release)),
            (std::vector<std::string>{"s", "1", "tok", "16", "dlv_1", "ep_1", "dlv_2", "ep_2"}));
  redis::requeue_request requeue{
      "s", 1, 16, 0.5, {delivery_status::failed, delivery_status::succeeded}, {"dlv_1"}};
  EXPECT_EQ(args_of(redis::encode(requeue)),
            (std::vector<std::string>{"s", "1", "16", "0.5", "failed,succeeded", "dlv_1"}));
  auto outcomes =
      redis::decode_requeue(array_reply({string_reply("queued"), string_reply("in_flight")}));
  ASSERT_TRUE(outcomes);
  EXPECT_EQ(*outcomes, (std::vector<std::string>{"queued", "in_flight"}));
  EXPECT_EQ(args_of(redis::encode(redis::wake_request{"s", "ep_1", 16, 42})),
            (std::vector<std::string>{"s", "ep_1", "16", "42"}));
}

TEST(script_io, forget_consumers_arguments_and_reply) {
  EXPECT_EQ(args_of(redis::encode(redis::forget_consumers_request{"s", "dispatcher", 3'600'000})),
            (std::vector<std::string>{"s", "dispatcher", "3600000"}));
  auto gone = redis::decode_forgotten(array_reply({string_reply("host-12")}));
  ASSERT_TRUE(gone);
  EXPECT_EQ(*gone, (std::vector<std::string>{"host-12"}));
  EXPECT_FALSE(redis::decode_forgotten(string_reply("ERR")));
}

// tests/lint checks what all_scripts lists: every script, each once.
TEST(scripts, every_script_is_listed_once_for_the_lint) {
  std::set<std::string> names;
  for (const auto* s : redis::all_scripts()) {
    EXPECT_TRUE(names.insert(s->name).second) << s->name;
    EXPECT_EQ(s->sha1.size(), 40u) << s->name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"ingest_events", "claim_due", "complete_attempts",
                                          "release_leases", "requeue_deliveries", "retire_hour",
                                          "wake_endpoint", "forget_idle_consumers"}));
}

}  // namespace
}  // namespace dispatcher
