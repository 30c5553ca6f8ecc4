// The delivery loop: claim due work in batches (Lua, so every instance shares one queue),
// run attempts under the slot bound, and record their outcomes in batches. Decisions live
// in retry/policy and delivery/slots; this file carries them out and owns the timing.
#include "dispatcher/delivery/scheduler.hpp"

#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "dispatcher/common/spawn_guard.hpp"
#include "dispatcher/common/time.hpp"
#include "dispatcher/delivery/backlog.hpp"
#include "dispatcher/delivery/latency.hpp"
#include "dispatcher/history/delivery.hpp"
#include "dispatcher/obs/log.hpp"
#include "dispatcher/obs/metrics.hpp"
#include "dispatcher/redis/eval.hpp"
#include "dispatcher/retry/backoff.hpp"
#include "dispatcher/retry/ordering.hpp"
#include "dispatcher/retry/policy.hpp"
#include "dispatcher/signing/signature.hpp"

namespace dispatcher::delivery {

namespace asio = boost::asio;
using namespace std::chrono_literals;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Claims are capped so one claim script stays short (it blocks Redis while it runs).
constexpr std::size_t max_claim = 256;
// Records per complete_attempts call, for the same reason.
constexpr std::size_t max_record_batch = 256;

history::delivery_status status_after(retry::action_kind kind) {
  switch (kind) {
    case retry::action_kind::succeeded:
      return history::delivery_status::succeeded;
    case retry::action_kind::retry:
      return history::delivery_status::retrying;
    case retry::action_kind::failed:
    case retry::action_kind::disable_endpoint:
      return history::delivery_status::failed;
  }
  return history::delivery_status::failed;
}

std::vector<std::string> endpoint_ids(const routing::registry& endpoints) {
  std::vector<std::string> ids;
  for (const auto& [id, ep] : *endpoints.snapshot()) ids.push_back(id);
  return ids;
}

// A lease token names the instance and counts its claims: unique across instances sharing
// the stream, and a log line shows whose lease it was (redis/scripts.cpp, lease:<token>).
std::string lease_token(const std::string& instance_id, std::uint64_t claim) {
  return instance_id + ":" + std::to_string(claim);
}

std::vector<redis::release_request::lease> leases_of(std::vector<claimed_delivery> items) {
  std::vector<redis::release_request::lease> leases;
  leases.reserve(items.size());
  for (auto& item : items) leases.push_back({std::move(item.id), std::move(item.endpoint_id)});
  return leases;
}

}  // namespace

scheduler::scheduler(asio::any_io_executor executor, redis::connection& conn, http_client& client,
                     routing::registry& endpoints, routing::endpoint_store& store,
                     const config::settings& settings, std::string instance_id)
    : executor_(executor),
      conn_(conn),
      client_(client),
      endpoints_(endpoints),
      store_(store),
      settings_(settings),
      instance_id_(std::move(instance_id)),
      keys_(settings.stream),
      wake_timer_(executor),
      record_timer_(executor),
      room_timer_(executor),
      slots_(settings.max_in_flight),
      pace_(settings.endpoint_concurrency, settings.batch_size, settings.poll_interval),
      random_(std::random_device{}()) {
  obs::global_metrics().attempts.set_cap(settings.metrics_endpoints);
}

std::chrono::milliseconds scheduler::lease_duration() const {
  // Well past the longest attempt, so a live owner never loses its lease mid-request
  // (Svix #2181: reclaiming sooner sent deliveries twice).
  return settings_.request_timeout * 2 + 5s;
}

void scheduler::wake() {
  carry_out(slots_.wake());
}

void scheduler::carry_out(wakeups w) {
  if (w.claim_loop) wake_timer_.cancel();
  if (w.room_waiter) room_timer_.cancel();
}

lease_grant scheduler::reserve(std::size_t wanted) {
  const auto granted = slots_.reserve(wanted);
  if (!granted) return {};
  return {*granted, lease_token(instance_id_, ++claims_)};
}

void scheduler::adopt(std::vector<claimed_delivery> items, const lease_grant& grant) {
  if (slots_.stopping()) {
    carry_out(slots_.adopt(grant.slots, 0));
    if (!items.empty()) {
      asio::co_spawn(executor_, async_hand_back(std::move(items), grant.token),
                     log_exceptions("lease hand-back"));
    }
    return;
  }
  const std::size_t leased = items.size();
  for (auto& item : items) start(std::move(item), grant.token);
  carry_out(slots_.adopt(grant.slots, leased));
}

asio::awaitable<std::size_t> scheduler::async_wait_for_room(std::size_t wanted) {
  // Both are asked every time, so that each knows it is waited on.
  auto must_wait = [&] {
    const bool process = slots_.wait_for_room(wanted);
    const bool endpoints = pace_.must_wait(std::chrono::steady_clock::now());
    return (process || endpoints) && !slots_.stopping();
  };
  while (must_wait()) {
    // A safety net, and what ends a wait on endpoints the ingest script found full
    // (read_pace: until a poll interval later); finish() and records end it sooner.
    room_timer_.expires_after(100ms);
    co_await room_timer_.async_wait(use_tuple);
  }
  pace_.end_wait();
  co_return slots_.end_room_wait();
}

std::size_t scheduler::readable() const {
  return pace_.readable(std::chrono::steady_clock::now());
}

void scheduler::observe_read(std::size_t events,
                             const std::unordered_map<std::string, std::size_t>& matched,
                             const std::vector<std::string>& queued_for, std::size_t endpoints) {
  pace_.observe(events, matched, queued_for,
                std::chrono::steady_clock::now() + settings_.poll_interval, endpoints);
}

void scheduler::release_recorded(const std::vector<redis::completion>& records) {
  const auto now = std::chrono::steady_clock::now();
  bool wake_reader = false;
  for (const auto& r : records) wake_reader = pace_.released(r.endpoint_id, now) || wake_reader;
  if (wake_reader) room_timer_.cancel();
}

void scheduler::start(claimed_delivery item, const std::string& token) {
  slots_.start(item.id, {token, item.endpoint_id});
  pace_.started(item.endpoint_id);
  obs::global_metrics().attempts_in_flight.set(static_cast<std::int64_t>(slots_.in_flight()));
  asio::co_spawn(executor_, async_attempt(std::move(item)), log_exceptions("delivery attempt"));
}

asio::awaitable<void> scheduler::async_run() {
  asio::co_spawn(executor_, async_record_loop(), log_exceptions("attempt recorder"));
  auto& m = obs::global_metrics();
  // Redis refusing the claim is usually a restart or failover: retry soon, but at most
  // every 5 s while it lasts.
  retry::backoff backoff(100ms, 5s);
  std::int64_t oldest_checked_ms = 0;
  while (!slots_.stopping()) {
    const auto now = unix_now_ms();
    m.last_scheduler_run_unix.set(now / 1000);
    if (now - oldest_checked_ms >= 1000) {
      oldest_checked_ms = now;
      co_await async_measure_oldest_due();
      co_await async_sample_backlog(conn_, keys_, settings_.group, endpoint_ids(endpoints_));
    }
    const std::size_t want = slots_.begin_claim(max_claim);
    if (want > 0) {
      std::string token = lease_token(instance_id_, ++claims_);
      const auto args = redis::encode(redis::claim_request{
          settings_.stream, now, want, lease_duration().count(), settings_.endpoint_concurrency,
          token, settings_.group, retry::head_recheck.count()});
      auto r = co_await redis::async_eval(conn_, redis::claim_due, args);
      auto claim = r.ok() ? redis::decode_claim(std::move(r.value)) : std::nullopt;
      if (!claim) {
        carry_out(slots_.claim_failed());
        if (!slots_.stopping()) {
          m.redis_errors.inc();
          obs::log_warn("claiming due deliveries failed",
                        {{"error", r.ok() ? "unexpected reply" : r.error_message()}});
          wake_timer_.expires_after(backoff.next());
          co_await wake_timer_.async_wait(use_tuple);
        }
        continue;
      }
      backoff.reset();
      if (claim->expired_leases > 0) {
        m.leases_expired.inc(static_cast<std::uint64_t>(claim->expired_leases));
        obs::log_warn("took back deliveries whose lease expired",
                      {{"count", std::to_string(claim->expired_leases)}});
      }
      const std::size_t got = claim->claimed.size();
      if (slots_.stopping()) {
        carry_out(slots_.claim_failed());
        if (got > 0) co_await async_hand_back(std::move(claim->claimed), token);
        break;
      }
      const auto end = slots_.claimed(got);
      carry_out(end.wake);
      auto& claimed = claim->claimed;
      for (std::size_t i = 0; i < end.keep; ++i) start(std::move(claimed[i]), token);
      if (end.keep < got) {
        // The reader took these slots while the claim ran: the bound holds.
        claimed.erase(claimed.begin(), claimed.begin() + static_cast<std::ptrdiff_t>(end.keep));
        asio::co_spawn(executor_,
                       async_release(token, leases_of(std::move(claimed)),
                                     "handed claimed deliveries without a free slot back"),
                       log_exceptions("lease hand-back"));
      }
      if (end.claim_again) continue;  // there may be more due now
    }
    if (slots_.poll_wait()) {
      wake_timer_.expires_after(settings_.poll_interval);
      co_await wake_timer_.async_wait(use_tuple);
    }
    slots_.end_pass();
  }
}

asio::awaitable<void> scheduler::async_measure_oldest_due() {
  // Each endpoint's due queue is ordered by due time, and a delivery's first due time is
  // its creation: the head of each queue, and what follows it closely, holds the oldest
  // waiting delivery. A few reads a second, whatever the backlog.
  constexpr std::size_t heads = 8;
  std::vector<redis::command> reads;
  const auto snapshot = endpoints_.snapshot();
  std::vector<std::string> ids;
  for (const auto& [id, ep] : *snapshot) {
    ids.push_back(id);
    reads.push_back(redis::command{"ZRANGE", keys_.due(id), "0", std::to_string(heads - 1)});
  }
  // Each endpoint's circuit too (the scripts keep it in the hash): the gauge of open ones.
  const std::size_t queues = reads.size();
  for (const auto& id : ids) {
    reads.push_back(redis::command{"HMGET", keys_.endpoint(id), "cb_open", "cb_probe"});
  }
  auto replies = co_await conn_.async_exec(std::move(reads));
  std::int64_t open = 0;
  for (std::size_t i = queues; i < replies.size(); ++i) {
    if (replies[i].ec) co_return;
    for (const auto& field : replies[i].value.elements) {
      if (field.type != redis::reply::kind::nil) {
        ++open;
        break;
      }
    }
  }
  obs::global_metrics().endpoint_circuit_open.set(open);
  replies.resize(queues);
  std::vector<redis::command> records;
  for (const auto& r : replies) {
    if (r.ec) co_return;  // keep the last value rather than report an empty queue
    for (const auto& member : r.value.elements) {
      records.push_back(
          redis::command{"HGET", keys_.bucket(history::bucket_of(member.str)), "d:" + member.str});
    }
  }
  std::int64_t oldest = 0;
  for (const auto& r : co_await conn_.async_exec(std::move(records))) {
    if (r.ec) co_return;
    const auto record = history::parse_delivery_record(r.value.str);
    if (record && (oldest == 0 || record->created_at_ms < oldest)) oldest = record->created_at_ms;
  }
  obs::global_metrics().oldest_due_created_ms.set(oldest);
}

asio::awaitable<void> scheduler::async_attempt(claimed_delivery item) {
  auto& m = obs::global_metrics();
  const auto started = unix_now_ms();
  const int attempt_number = item.attempts_before + 1;

  // The snapshot is held for the whole attempt, so its endpoint is read in place, not
  // copied (a copy was a dozen allocations per attempt).
  const routing::endpoint* ep = nullptr;
  std::optional<routing::endpoint> fetched_endpoint;
  const auto snapshot = endpoints_.snapshot();
  if (auto it = snapshot->find(item.endpoint_id); it != snapshot->end()) {
    ep = &it->second;
  } else {
    // The registry may lag a just-created endpoint by one poll: ask Redis.
    auto fetched = co_await store_.async_get(item.endpoint_id);
    if (fetched.ec) {
      obs::log_warn("endpoint lookup failed; the delivery's lease will expire and it reruns",
                    {{"delivery", item.id}, {"error", fetched.ec.message()}});
      finish(item.id, std::nullopt);
      co_return;
    }
    fetched_endpoint = std::move(fetched.value);
    if (fetched_endpoint) ep = &*fetched_endpoint;
    if (ep && !ep->secret_error.empty()) {
      // Never sign with a secret that could not be opened; the lease expires and an
      // instance with the right DISPATCHER_ENCRYPTION_KEY (or this one, fixed) takes it.
      obs::log_error("endpoint skipped: " + ep->secret_error,
                     {{"endpoint", ep->id}, {"delivery", item.id}});
      finish(item.id, std::nullopt);
      co_return;
    }
  }

  redis::completion done;  // its lease token and endpoint are set by finish()
  done.delivery_id = item.id;
  if (!ep) {
    done.error = "endpoint was deleted";
  } else if (!item.payload) {
    done.error = "event expired before it could be delivered";
  } else {
    history::attempt_record record;
    record.attempt = attempt_number;
    record.started_at_ms = started;
    record.cause = item.manual ? history::trigger::manual : history::trigger::scheduled;
    std::optional<std::chrono::seconds> retry_after;

    const auto parsed = target_of(ep->url);
    if (const auto* bad = std::get_if<std::string>(parsed.get())) {
      record.error = *bad;
    } else {
      const auto timestamp = started / 1000;
      const std::string timestamp_text = std::to_string(timestamp);
      std::string standard_signature;
      std::string chift_signature;
      header_list headers;
      headers.reserve(4 + ep->headers.size());
      headers.emplace_back("webhook-id", item.event_id);
      headers.emplace_back("webhook-timestamp", timestamp_text);
      if (ep->signature != routing::signature_scheme::chift) {
        const auto secrets = routing::signing_secrets(*ep, started);
        standard_signature =
            signing::standard_signature_header(secrets, item.event_id, timestamp, *item.payload);
        headers.emplace_back("webhook-signature", standard_signature);
      }
      if (ep->signature != routing::signature_scheme::standard) {
        chift_signature =
            signing::chift_signature(routing::chift_signing_secret(*ep, started), *item.payload);
        headers.emplace_back("x-chift-signature", chift_signature);
      }
      for (const auto& [name, value] : ep->headers) headers.emplace_back(name, value);
      auto result =
          co_await client_.async_post(std::get<target>(*parsed), headers, std::move(*item.payload));
      record.duration_ms = result.duration.count();
      record.status_code = result.status_code;
      record.error = std::move(result.error);
      record.response_excerpt = std::move(result.response_excerpt);
      if (result.retry_after) {
        retry_after = retry::parse_retry_after(*result.retry_after, unix_now_ms() / 1000);
      }
      m.attempt_duration.observe(static_cast<double>(record.duration_ms) / 1000.0);
    }
    if (record.error.empty() && record.status_code &&
        !(*record.status_code >= 200 && *record.status_code < 300)) {
      record.error = "receiver answered " + std::to_string(*record.status_code);
    }

    std::uniform_real_distribution<double> jitter(-1.0, 1.0);
    const auto action = retry::decide({record.status_code, retry_after, item.manual},
                                      attempt_number, settings_.retry_schedule, jitter(random_));
    m.attempts.inc(ep->id, action.kind == retry::action_kind::succeeded);
    const auto now = unix_now_ms();
    done.status = status_after(action.kind);
    if (action.kind == retry::action_kind::retry) {
      done.next_attempt_at_ms = now + action.delay.count();
    }
    done.status_code = record.status_code;
    done.error = record.error;
    done.attempt = history::to_storage(record);
    if (action.kind == retry::action_kind::disable_endpoint) {
      done.disable_reason = "endpoint answered 410 Gone at " + format_rfc3339(now);
    }
    if (action.kind == retry::action_kind::succeeded) {
      m.deliveries_succeeded.inc();
      m.delivery_latency.observe(latency_seconds(
          latency_origin_ms(item.entry_ms, item.event_id, item.created_at_ms), now));
    }
  }
  const std::string attempt_text = std::to_string(attempt_number);
  if (!done.attempt.empty() && done.status != history::delivery_status::succeeded) {
    const std::string next_attempt_text =
        done.next_attempt_at_ms ? format_rfc3339(*done.next_attempt_at_ms) : "none";
    const auto status_text = std::string(history::to_string(done.status));
    // An operator reading the log at info must see every failure (issue 14): which
    // delivery, which receiver, which attempt and why, and when it runs again.
    obs::log_warn("attempt failed", {{"delivery", item.id},
                                     {"endpoint", item.endpoint_id},
                                     {"attempt", attempt_text},
                                     {"reason", done.error},
                                     {"status", status_text},
                                     {"next_attempt_at", next_attempt_text}});
  }
  if (done.status == history::delivery_status::failed) {
    m.deliveries_failed.inc();
    obs::log_error(
        "delivery failed; it stays replayable",
        {{"delivery", item.id},
         {"endpoint", item.endpoint_id},
         {"attempts", done.attempt.empty() ? std::to_string(item.attempts_before) : attempt_text},
         {"reason", done.error}});
  }
  if (item.attempts_before == 0) {
    // Nothing stored to keep: the whole record goes in one write, no read first.
    history::delivery_record r;
    r.status = done.status;
    r.attempt_count = done.attempt.empty() ? 0 : 1;
    r.last_status_code = done.status_code;
    r.next_attempt_at_ms = done.next_attempt_at_ms;
    r.created_at_ms = item.created_at_ms;
    r.updated_at_ms = unix_now_ms();
    // Read for the last time above: moved, not copied.
    r.event_id = std::move(item.event_id);
    r.endpoint_id = std::move(item.endpoint_id);
    r.last_error = done.error;
    done.record = history::pack(r, done.attempt);
  }
  finish(item.id, std::move(done));
}

std::shared_ptr<const std::variant<target, std::string>> scheduler::target_of(
    const std::string& url) {
  if (auto it = targets_.find(url); it != targets_.end()) return it->second;
  // Bounded: URLs of deleted or changed endpoints must not pile up; starting over costs one
  // parse per URL.
  if (targets_.size() >= max_targets) targets_.clear();
  auto parsed = std::make_shared<const std::variant<target, std::string>>(parse_target(url));
  targets_.emplace(url, parsed);
  return parsed;
}

void scheduler::finish(const std::string& delivery_id, std::optional<redis::completion> record) {
  slots::lease held;
  auto w = slots_.finish(delivery_id, held);
  obs::global_metrics().attempts_in_flight.set(static_cast<std::int64_t>(slots_.in_flight()));
  if (record && outbox_.closed()) {
    // The drain has handed this attempt's lease back and written the last records: the
    // delivery runs again elsewhere, as after a crash.
    obs::log_warn("attempt ended after shutdown released it; its delivery will run again",
                  {{"delivery", delivery_id}});
    record.reset();
  }
  // Without a record to write, nothing will lower the endpoint's count in Redis before the
  // lease expires; the reader's pacing need not wait that long.
  if (!record && pace_.released(held.endpoint_id, std::chrono::steady_clock::now())) {
    w.room_waiter = true;
  }
  if (record) {
    record->token = std::move(held.token);
    record->endpoint_id = std::move(held.endpoint_id);
    if (outbox_.push(std::move(*record))) record_timer_.cancel();
  }
  carry_out(w);
}

asio::awaitable<void> scheduler::async_record_loop() {
  // Records wait while a write is in flight and go together in the next one: under load
  // one script call records many attempts, idle it records one at once.
  while (!outbox_.finished()) {
    if (outbox_.empty()) {
      record_timer_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await record_timer_.async_wait(use_tuple);
      continue;
    }
    co_await async_record(outbox_.take(max_record_batch));
    outbox_.written();
  }
}

asio::awaitable<void> scheduler::async_record(std::vector<redis::completion> batch) {
  redis::complete_request request{settings_.stream,
                                  0,
                                  settings_.endpoint_concurrency,
                                  std::move(batch),
                                  settings_.breaker_failures,
                                  settings_.breaker_probe.count(),
                                  settings_.disable_after.count()};
  // The attempts happened; losing their records would make them invisible (Outpost
  // #1000). Retry while the leases are still ours; past them, the deliveries rerun.
  asio::steady_timer timer(executor_);
  retry::backoff backoff(100ms, 2s);
  const auto give_up = std::chrono::steady_clock::now() + lease_duration() / 2;
  // The reader may read for these endpoints at once: its ingest call goes out on this
  // connection after this call, so Redis runs it after the counts dropped. Waiting for the
  // reply put a round trip in every slot's cycle. (Should this call fail, the ingest finds
  // the endpoint full and queues; the pace then counts it full for a poll interval.)
  release_recorded(request.completions);
  for (;;) {
    request.now_ms = unix_now_ms();
    auto r = co_await redis::async_eval(conn_, redis::complete_attempts, redis::encode(request));
    auto reply = r.ok() ? redis::decode_complete(std::move(r.value)) : std::nullopt;
    if (reply) {
      for (std::size_t i = 0; i < reply->written.size() && i < request.completions.size(); ++i) {
        if (!reply->written[i]) {
          obs::log_warn("lease lost before the attempt was recorded; another instance owns it",
                        {{"delivery", request.completions[i].delivery_id}});
        }
      }
      // Counted where the script did it: a 410 answered for a lease another instance holds
      // now disables nothing, and DISPATCHER_DISABLE_AFTER is only decided there.
      for (const auto& d : reply->disabled) {
        obs::global_metrics().endpoints_disabled.inc();
        obs::log_warn("endpoint disabled", {{"endpoint", d.endpoint_id}, {"reason", d.reason}});
      }
      if (reply->due_now) wake();
      co_return;
    }
    obs::global_metrics().redis_errors.inc();
    if (std::chrono::steady_clock::now() + backoff.peek() > give_up) {
      obs::log_error("could not record attempts; those deliveries will run again",
                     {{"count", std::to_string(request.completions.size())},
                      {"error", r.ok() ? "unexpected reply" : r.error_message()}});
      co_return;
    }
    timer.expires_after(backoff.next());
    co_await timer.async_wait(use_tuple);
  }
}

asio::awaitable<void> scheduler::async_drain(std::chrono::milliseconds deadline) {
  carry_out(slots_.stop());
  asio::steady_timer timer(executor_);
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (slots_.in_flight() > 0 && std::chrono::steady_clock::now() < until) {
    timer.expires_after(10ms);
    co_await timer.async_wait(use_tuple);
  }
  if (slots_.in_flight() > 0) co_await async_release_running();
  // Every attempt that ended has its record written before the connection closes.
  outbox_.close();
  record_timer_.cancel();
  while (!outbox_.settled()) {
    timer.expires_after(10ms);
    co_await timer.async_wait(use_tuple);
  }
}

asio::awaitable<void> scheduler::async_release(std::string token,
                                               std::vector<redis::release_request::lease> leases,
                                               std::string_view what) {
  const auto count = leases.size();
  const redis::release_request request{settings_.stream, unix_now_ms(), std::move(token),
                                       settings_.endpoint_concurrency, std::move(leases)};
  auto r = co_await redis::async_eval(conn_, redis::release_leases, redis::encode(request));
  const auto released = r.ok() ? redis::decode_release(r.value) : std::nullopt;
  obs::log_info(std::string(what),
                {{"count", std::to_string(count)},
                 {"released", released ? std::to_string(*released) : r.error_message()}});
}

asio::awaitable<void> scheduler::async_hand_back(std::vector<claimed_delivery> items,
                                                 std::string token) {
  co_await async_release(std::move(token), leases_of(std::move(items)),
                         "handed deliveries leased during shutdown back to the queue");
}

asio::awaitable<void> scheduler::async_release_running() {
  std::unordered_map<std::string, std::vector<redis::release_request::lease>> by_token;
  for (const auto& [id, held] : slots_.running()) {
    by_token[held.token].push_back({id, held.endpoint_id});
  }
  for (auto& [token, leases] : by_token) {
    co_await async_release(token, std::move(leases),
                           "handed unfinished deliveries back to the queue");
  }
}

}  // namespace dispatcher::delivery
