// The Lua scripts that make each state change of the delivery pipeline one atomic step
// in Redis: an event with its deliveries, index entries and connection status; a claim of
// due deliveries under a lease; an attempt's record with the delivery's next state; and
// handing leases back. Each script's arguments and reply are encoded and decoded in
// redis/script_io.hpp; KEYS[1] is the stream and every key carries its hash tag. The key
// layout (P is "{<stream>}:", see redis/keys.hpp and the README's "Redis layout"):
//
//   P seen                   hash: event id -> bucket (the dedupe and the event's address)
//   P b:<hour>               hash per hour of receipt: e:<event id> (metadata, a newline,
//                            the exact bytes sent), d:<delivery id> (state and attempts),
//                            packed as history/delivery.hpp says; P buckets lists them
//   P i:all, P i:consumer:<id>
//                            zset event id -> received_at (ms), one member per event with
//                            deliveries: the list indexes of event attributes (the
//                            consumers' trimmed by the retention sweep, i:all by a TTL)
//   P i:ep:<ep>              zset delivery id -> created_at (ms), the same time: the
//                            endpoint's list index (trimmed by the retention sweep)
//   P ep:<id>                hash: json (the endpoint), enabled, disabled_reason, rate_limit,
//                            ordering; the breaker's cb_fails, cb_open (next probe, ms),
//                            cb_probe (the probe's delivery), fail_since (ms)
//   P oh:<ep>, P oc:<ep>:<conn>  an ordered endpoint's heads and held chains
//                            (retry/ordering.hpp; only endpoints with ordering have them)
//   P endpoints              zset of endpoint ids by creation time; P endpoints:version
//   P q:ready                zset endpoint -> earliest time it has due work and a free slot
//   P q:due:<ep>             zset delivery -> due time (ms)
//   P q:leases, P lease:<token>  zset token -> lease expiry (ms); set of the token's
//                            "<delivery>|<endpoint>"
//   P q:busy                 hash endpoint -> attempts in flight
//   P rl:<ep>                rate limit: theoretical arrival time (GCRA) in ms
//   P rp:<ep>                the next free slot (ms) for a paced replay to this endpoint
//   P conn:<id>:history      zset by event created time, one member per event naming the
//                            connection (history/connection.hpp): the status view, and
//                            the delivery list's connectionid filter; no TTL: the
//                            retention sweep takes out each expired hour's members
//   P consumer:<id>:connections  set of the consumer's connection ids (no TTL, as above)
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

namespace dispatcher::redis {

struct script {
  /// `helpers`: the parts of the shared Lua helpers the body uses (scripts.cpp).
  script(const char* name, std::initializer_list<const char*> helpers, const char* body);
  const char* name;
  std::string source;  // the helpers it uses followed by the body
  std::string sha1;    // what EVALSHA names it by
};

/// One batch of stream entries in one atomic step (script_io: ingest_request). When
/// endpoints:version is not the version the events were matched at, writes nothing and
/// answers "stale". Otherwise XACKs every entry (in the same atomic step as the records),
/// dedupes on the event id, writes the event, its deliveries, indexes and connection status,
/// leases deliveries the caller can start at once (up to `room`) and queues the rest; an
/// ordered head waits while an older entry is pending in the group (retry/ordering.hpp).
extern const script ingest_events;

/// Hands expired leases (crashed instances) back to their due queues, then leases up to
/// `max` due deliveries, endpoint by endpoint within concurrency, rate limits and open
/// circuits (one probe per period); an ordered head that has not started waits while an
/// older stream entry is pending in the group (retry/ordering.hpp: start_head).
extern const script claim_due;

/// Records attempts with each delivery's next state, if the lease is still ours; keeps
/// each endpoint's circuit breaker (retry/circuit.hpp); a 410, or attempts failing for
/// DISPATCHER_DISABLE_AFTER, disables the endpoint and fails what waits for it; a finished
/// head of an ordered connection lets the next one of its chain go (retry/ordering.hpp).
extern const script complete_attempts;

/// Hands our leases back as due now.
extern const script release_leases;

/// Makes each delivery `pending` with the `manual` flag (its next attempt is recorded as
/// manual and is not retried on failure) and due now, or at its endpoint's next replay
/// slot when paced (rp:<ep> holds it).
extern const script requeue_deliveries;

/// Retention for the keys of an expired hour's events that carry no TTL (the sweep in
/// ingest/stream_trimmer, before the hour's bucket goes): ARGV hour, the end of the hour
/// (ms), the number of endpoints and the endpoints its deliveries went to, then
/// (consumer, connection) pairs of its events. Trims each endpoint's and consumer's index
/// to after the hour, takes the hour's members out of each connection's history (keeping its
/// newest status while later events remain) and, once a history is empty, the connection
/// out of its consumer's set.
extern const script retire_hour;
/// Makes a (re-)enabled endpoint's due deliveries eligible again, and applies a change of
/// its `ordering` to the deliveries not yet attempted.
extern const script wake_endpoint;
/// Deletes the group's consumers idle longer than ARGV idle ms with nothing pending: the
/// instances that stopped (a restart under the default name `<host>-<pid>` is a new
/// consumer). In one script, so a consumer cannot read an entry between the check and the
/// delete: XGROUP DELCONSUMER drops a consumer's pending entries with it.
extern const script forget_idle_consumers;

/// Every script above, for the checks that go through them all (tests/lint): each adds
/// itself when constructed, so a new one cannot be left out.
const std::vector<const script*>& all_scripts();

}  // namespace dispatcher::redis
