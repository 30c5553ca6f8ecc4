// How far the stream reader may run ahead of delivery, endpoint by endpoint, without I/O.
// An event ingested while the endpoints it matches have no free slot cannot be leased: it
// goes to a due queue, and costs a claim script call and a second read of its record and
// payload later. The process bound (delivery/slots) does not prevent that when an
// endpoint's own concurrency is the bound (one endpoint, DISPATCHER_ENDPOINT_CONCURRENCY
// 16, against 512 process slots), so the reader also asks this class: it ingests only as
// many events as the endpoint with the most free slots can take, at the share of events
// each endpoint matched lately. One slow or full endpoint never stops the reader while
// another has room (its events are then queued, as before); when every endpoint the events
// go to is full, the backlog waits in the stream instead of in the due queues.
//
// The reader reads the next events while the slots are busy, as many as the endpoint with
// the most room takes with every slot free (readable_when_idle), and ingests them when
// slots free: a slot's cycle then holds no read. What it holds is pending under its name
// for about one cycle of that endpoint.
//
// A slot counts from the attempt's start until its record is sent, not until its request
// ends: the Redis count the ingest script checks (q:busy) drops only with the record, and
// an ingest sized on the earlier moment would find the endpoint still full. The record's
// call goes out on the connection the ingest calls use, so any ingest the reader sends
// after it runs after it; waiting for its reply as well put a round trip in every cycle.
// Endpoints the ingest script queued for anyway (full through other instances,
// rate-limited, an open circuit, work due before) count as full until `until`, so the
// reader ingests for them at most once per poll interval.
//
// The stream is one queue: a run of events for a full endpoint hides whatever follows it.
// When other endpoints exist that the recent events did not go to, the reader may ingest
// one whole batch per poll interval anyway (a probe), so their events behind such a run
// are reached: a full endpoint's due queue then grows at most by a batch per poll
// interval, where it grew as fast as the stream could be read before.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dispatcher::delivery {

class read_pace {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// `endpoint_limit`: DISPATCHER_ENDPOINT_CONCURRENCY; `batch_max`: the most events one
  /// read takes (DISPATCHER_BATCH_SIZE).
  read_pace(std::size_t endpoint_limit, std::size_t batch_max,
            std::chrono::steady_clock::duration probe_every);

  /// An attempt to `endpoint` started in this process.
  void started(const std::string& endpoint);
  /// Its record is sent (or never will be): the slot is free in Redis for every ingest call
  /// sent from now on. True when the reader waits and may now read enough.
  bool released(const std::string& endpoint, time_point now);

  /// A batch of `events` was read; `matched` counts each endpoint's deliveries in it and
  /// `queued` names the endpoints the ingest script queued deliveries for, which count as
  /// full until `until`; `endpoints`: how many endpoints events can go to now (enabled).
  void observe(std::size_t events, const std::unordered_map<std::string, std::size_t>& matched,
               const std::vector<std::string>& queued, time_point until, std::size_t endpoints);

  /// Events the reader may ingest now (at most batch_max; 0: wait).
  std::size_t readable(time_point now) const;
  /// Events the endpoint with the most room could take with every slot free, at its share
  /// (batch_max when nothing matched lately): what the reader may read ahead.
  std::size_t readable_when_idle() const;
  /// Whether the reader must wait before it ingests: fewer events readable than a
  /// half of what the endpoints could take when idle, so that reads stay batches (each read
  /// and ingest call has a fixed cost: with a quarter, one endpoint at concurrency 16 cost
  /// Redis 7.3 commands per delivery against 6.1 with half).
  /// While it waits, released() says when to end the wait.
  bool must_wait(time_point now);
  void end_wait() noexcept { wanted_ = 0; }

  /// This process's attempts to `endpoint` whose records are not sent yet.
  std::size_t in_flight(const std::string& endpoint) const;

 private:
  std::size_t room(const std::string& endpoint, time_point now) const;
  /// Events that `endpoint`, with `free` slots, can take at its share.
  std::size_t events_for(double share, std::size_t free) const;

  std::size_t limit_;
  std::size_t batch_;
  std::unordered_map<std::string, std::size_t> in_flight_;
  std::unordered_map<std::string, double> share_;  // deliveries per event read, lately
  std::unordered_map<std::string, time_point> full_until_;
  std::size_t wanted_ = 0;  // what the waiting reader waits for; 0: nobody waits
  std::chrono::steady_clock::duration probe_every_;
  bool others_ = false;   // endpoints exist that recent events did not go to
  bool probing_ = false;  // the next read is a probe: a whole batch
  time_point next_probe_{};
};

}  // namespace dispatcher::delivery
