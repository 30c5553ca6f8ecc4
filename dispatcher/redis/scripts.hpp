// The Lua scripts that make each state change of the delivery pipeline one atomic step
// in Redis: an event with its deliveries, index entries and connection status; a claim of
// due deliveries under a lease; an attempt's record with the delivery's next state; and
// handing leases back. Key layout (all keys are built inside the scripts, so they assume
// a single Redis, not a cluster). Each kind of record has a prefix of its own, so no id,
// whatever its text, can name a key of another type (the API also refuses ids that
// cannot exist before they reach a key):
//
//   evt:<id>                 hash: payload (the exact bytes sent), type, consumerid, ...
//   dlv:<id>                 hash: the delivery's state, plus `lease` while in flight and
//                            `manual` while an operator's replay waits or runs
//   att:<delivery id>        list of attempt JSON objects, oldest first
//   ep:<id>                  hash: json (the endpoint), enabled, disabled_reason, rate_limit
//   endpoints                zset of endpoint ids by creation time; endpoints:version counter
//   q:ready                  zset endpoint -> earliest time it has due work and a free slot
//   q:due:<ep>               zset delivery -> due time (ms)
//   q:lease:<ep>, q:leases   zset delivery -> lease expiry (ms), per endpoint and global
//   rl:<ep>                  rate limit: theoretical arrival time (GCRA) in ms
//   rp:<ep>                  the next free slot (ms) for a paced replay to this endpoint
//   idx:dlv[:ep|:status|:type|:consumer|:conn:<v>]   zset delivery -> created_at (ms)
//   conn:<id>:history        zset by event created time: "<stream order>|<json entry>";
//                            the newest entry is the connection's current status
//   consumer:<id>:connections  set of the consumer's connection ids
#pragma once

#include <string>

namespace dispatcher::redis {

struct script {
  script(const char* name, const char* body);
  const char* name;
  std::string source;  // the shared helpers followed by the body
  std::string sha1;    // what EVALSHA names it by
};

/// One batch of stream entries in one atomic step. ARGV: now_ms, retention_ms,
/// endpoint_concurrency, room (deliveries the caller can start now), lease token, lease_ms,
/// stream, group, endpoints version (the endpoints:version the events were matched at),
/// then per event: event_id, body, type, consumerid, connectionid, status, created, order,
/// stream entry id, n, then n (endpoint_id, delivery_id) pairs.
/// When endpoints:version is not the given version, writes nothing and returns "stale".
/// Otherwise dedupes on the event id, writes the event, its deliveries, indexes and
/// connection status, leases deliveries the caller can start at once (up to `room`) and
/// queues the rest, then XACKs every entry. Returns [[n | -1 (already accepted), ...],
/// [delivery_id, endpoint_id, event_id, ...] (leased to the caller), queued count].
extern const script ingest_events;

/// ARGV: now_ms, max, lease_ms, endpoint_concurrency, token.
/// Returns [expired_lease_count, [[delivery_id, endpoint_id, event_id, attempt_count,
/// payload|nil, manual '0'|'1'], ...]] and first hands expired leases (crashed instances)
/// back to their due queues.
extern const script claim_due;

/// Records attempts with each delivery's next state. ARGV: now_ms, retention_ms,
/// endpoint_concurrency, then per attempt: delivery_id, token, status,
/// next_attempt_at_ms|'', status_code|'', error, attempt_json|'', disable_reason|''.
/// Returns [[1, or 0 when the lease is no longer ours (nothing written), ...], due_now]
/// where due_now is 1 when an endpoint it freed a slot on has due work waiting.
extern const script complete_attempts;

/// ARGV: now_ms, token, endpoint_concurrency, delivery ids... Hands our leases back as due now.
extern const script release_leases;

/// ARGV: now_ms, retention_ms, endpoint_concurrency, pace_ms (0: all due now), requeueable
/// statuses ("failed,succeeded"), delivery ids... Makes each delivery `pending` with the
/// `manual` flag (its next attempt is recorded as manual and is not retried on failure)
/// and due now, or at its endpoint's next replay slot when paced (rp:<ep> holds it).
/// Returns one outcome per id: "queued", or why not: "not_found", "in_flight",
/// "event_expired", "endpoint_deleted", "endpoint_disabled", or the delivery's status.
extern const script requeue_deliveries;

/// ARGV: endpoint_id, now_ms, endpoint_concurrency. Makes a (re-)enabled endpoint's due
/// deliveries eligible again.
extern const script wake_endpoint;

}  // namespace dispatcher::redis
