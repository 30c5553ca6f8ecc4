#include "dispatcher/redis/scripts.hpp"

#include <openssl/evp.h>

namespace dispatcher::redis {

namespace {

// Shared helpers, prepended to every script.
constexpr const char* helpers = R"lua(
-- An endpoint is ready when it has due work, a free in-flight slot and is not paused.
local function make_ready(ep, limit)
  if redis.call('HGET', 'ep:' .. ep, 'enabled') == '0' then
    redis.call('ZREM', 'q:ready', ep)
    return
  end
  if redis.call('ZCARD', 'q:lease:' .. ep) >= limit then
    redis.call('ZREM', 'q:ready', ep)
    return
  end
  local first = redis.call('ZRANGE', 'q:due:' .. ep, 0, 0, 'WITHSCORES')
  if #first == 0 then
    redis.call('ZREM', 'q:ready', ep)
  else
    redis.call('ZADD', 'q:ready', first[2], ep)
  end
end

-- Dropping index members past retention is housekeeping only (lists skip records that
-- expired), so one call in 64 does it; the TTL keeps an idle index from outliving them.
local function index_expire(key, now, ttl)
  if now % 64 == 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ttl) end
  redis.call('PEXPIRE', key, ttl)
end

local function index_add(key, score, id, now, ttl)
  redis.call('ZADD', key, score, id)
  index_expire(key, now, ttl)
end

-- members: a flat {score, member, ...} list.
local function index_add_all(key, members, now, ttl)
  for first = 1, #members, 1000 do
    redis.call('ZADD', key, unpack(members, first, math.min(first + 999, #members)))
  end
  index_expire(key, now, ttl)
end

local function set_status(id, old, new, created, now, ttl)
  if old == new then return end
  if old then redis.call('ZREM', 'idx:dlv:status:' .. old, id) end
  index_add('idx:dlv:status:' .. new, created, id, now, ttl)
end
)lua";

}  // namespace

script::script(const char* script_name, const char* body)
    : name(script_name), source(std::string(helpers) + body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(source.data(), source.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    sha1 += hex[digest[i] >> 4];
    sha1 += hex[digest[i] & 0xf];
  }
}

const script ingest_events{"ingest_events", R"lua(
local now, ttl, limit, room = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local token, lease_ms, stream, group = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
-- The caller matched these events against the endpoints as of ARGV[9]; if an endpoint
-- changed since, writing would apply the old set to events read after the change
-- answered. Write nothing: the caller reloads the endpoints and matches again.
if (redis.call('GET', 'endpoints:version') or '0') ~= ARGV[9] then return 'stale' end
-- Numbers handed to redis.call are formatted with printf each time; the strings are free.
local now_s, ttl_s, lease_until = ARGV[1], ARGV[2], tostring(now + lease_ms)
local indexes, endpoints, counts, leased, acks = {}, {}, {}, {}, {}
local queued = 0
local function index(key, did)
  local members = indexes[key]
  if not members then members = {}; indexes[key] = members end
  members[#members + 1] = now_s
  members[#members + 1] = did
end

local i = 10
while i <= #ARGV do
  local id, body, etype, consumer, conn, status = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local created_text, order, entry, n = ARGV[i + 6], ARGV[i + 7], ARGV[i + 8], tonumber(ARGV[i + 9])
  local created = tonumber(created_text)
  local first, last = i + 10, i + 9 + 2 * n
  i = last + 1
  acks[#acks + 1] = entry
  local evt_key = 'evt:' .. id
  if redis.call('EXISTS', evt_key) == 1 then
    counts[#counts + 1] = -1
  else
    local ids = {}
    for j = first, last, 2 do ids[#ids + 1] = ARGV[j + 1] end
    redis.call('HSET', evt_key, 'payload', body, 'type', etype, 'consumerid', consumer,
      'connectionid', conn, 'received_at', now_s, 'order', order, 'deliveries', table.concat(ids, ','))
    redis.call('PEXPIRE', evt_key, ttl_s)

    for j = first, last, 2 do
      local ep, did = ARGV[j], ARGV[j + 1]
      local e = endpoints[ep]
      if not e then
        -- Lease at once (no claim round trip) only what the claim script would hand out
        -- next anyway: an enabled endpoint without a rate limit, with nothing due before
        -- it and a free slot.
        local info = redis.call('HMGET', 'ep:' .. ep, 'enabled', 'rate_limit')
        local head = redis.call('ZRANGE', 'q:due:' .. ep, 0, 0, 'WITHSCORES')
        e = {direct = info[1] ~= '0' and not info[2] and (#head == 0 or tonumber(head[2]) > now),
             leases = redis.call('ZCARD', 'q:lease:' .. ep), queued = false}
        endpoints[ep] = e
      end
      local key = 'dlv:' .. did
      local lease = ''
      if e.direct and room > 0 and e.leases < limit then lease = token end
      redis.call('HSET', key, 'event_id', id, 'endpoint_id', ep, 'event', etype,
        'consumerid', consumer, 'connectionid', conn, 'status', 'pending', 'attempt_count', '0',
        'next_attempt_at', now_s, 'created_at', now_s, 'updated_at', now_s, 'lease', lease)
      if lease ~= '' then
        redis.call('ZADD', 'q:lease:' .. ep, lease_until, did)
        redis.call('ZADD', 'q:leases', lease_until, did)
        e.leases = e.leases + 1
        room = room - 1
        leased[#leased + 1] = did
        leased[#leased + 1] = ep
        leased[#leased + 1] = id
      else
        redis.call('ZADD', 'q:due:' .. ep, now_s, did)
        e.direct = false  -- first in, first out: later ones wait behind this one
        e.queued = true
        queued = queued + 1
      end
      redis.call('PEXPIRE', key, ttl_s)
      index('idx:dlv', did)
      index('idx:dlv:ep:' .. ep, did)
      index('idx:dlv:type:' .. etype, did)
      index('idx:dlv:consumer:' .. consumer, did)
      if conn ~= '' then index('idx:dlv:conn:' .. conn, did) end
      index('idx:dlv:status:pending', did)
    end
    counts[#counts + 1] = n

    -- The connection status view: history ordered by (created, stream position); the
    -- current status is the last entry in that order, so a late older event never
    -- overwrites it. Every part of the entry was validated against a pattern with no
    -- character that needs escaping in JSON.
    if conn ~= '' and string.sub(etype, 1, 19) == 'account.connection.' then
      local st = status
      if string.sub(etype, -8) == '.deleted' then st = 'deleted' end
      if st ~= '' then
        local hkey = 'conn:' .. conn .. ':history'
        redis.call('ZADD', hkey, created_text, order .. '|{"event":"' .. etype .. '","status":"' ..
          st .. '","at":' .. created_text .. ',"event_id":"' .. id .. '","consumerid":"' ..
          consumer .. '"}')
        redis.call('PEXPIRE', hkey, ttl_s)
        redis.call('SADD', 'consumer:' .. consumer .. ':connections', conn)
        redis.call('PEXPIRE', 'consumer:' .. consumer .. ':connections', ttl_s)
      end
    end
  end
end

-- One write per index for the whole batch (a fan-out to 100 endpoints adds 100 members
-- to the same type, consumer and connection indexes).
for key, members in pairs(indexes) do index_add_all(key, members, now, ttl_s) end
for ep, e in pairs(endpoints) do
  if e.queued then make_ready(ep, limit) end
end
-- Acknowledged in the same atomic step that wrote the records: never before them. In
-- slices, as every unpack is: Lua fails past about 8,000 values (LUAI_MAXCSTACK).
for first = 1, #acks, 1000 do
  redis.call('XACK', stream, group, unpack(acks, first, math.min(first + 999, #acks)))
end
return {counts, leased, queued}
)lua"};

const script claim_due{"claim_due", R"lua(
local now, max, lease_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, token = tonumber(ARGV[4]), ARGV[5]

-- Leases that expired belong to an instance that died mid-attempt: due again now.
local expired = redis.call('ZRANGEBYSCORE', 'q:leases', '-inf', now, 'LIMIT', 0, 100)
for _, did in ipairs(expired) do
  redis.call('ZREM', 'q:leases', did)
  local ep = redis.call('HGET', 'dlv:' .. did, 'endpoint_id')
  if ep then
    redis.call('ZREM', 'q:lease:' .. ep, did)
    redis.call('HDEL', 'dlv:' .. did, 'lease')
    redis.call('ZADD', 'q:due:' .. ep, now, did)
    make_ready(ep, limit)
  end
end

local claimed = {}
local eps = redis.call('ZRANGEBYSCORE', 'q:ready', '-inf', now, 'LIMIT', 0, max)
for _, ep in ipairs(eps) do
  if #claimed >= max then break end
  local info = redis.call('HMGET', 'ep:' .. ep, 'enabled', 'rate_limit')
  if info[1] == '0' then
    redis.call('ZREM', 'q:ready', ep)
  else
    local want = math.min(limit - redis.call('ZCARD', 'q:lease:' .. ep), max - #claimed)
    local rate = tonumber(info[2])
    -- Not a positive number (NaN fails the test too): a damaged hash, which limits nothing.
    if rate and not (rate > 0) then rate = nil end
    local tat, interval, window = now, 0, 0
    if rate then
      -- GCRA: one delivery per `interval` ms; `tat` is when the one after the last sent may
      -- go. A delivery may go `window - interval` ms early, which allows a burst of one
      -- second's worth when rate >= 1 and none below 1 (0.5/s: exactly one every 2000 ms).
      -- The interval is capped (about 31 years) so a vanishing rate keeps finite times.
      interval = math.min(1000 / rate, 1e12)
      window = math.max(1000, interval)
      tat = math.max(tonumber(redis.call('GET', 'rl:' .. ep) or '0') or 0, now)
      -- Under an unchanged rate tat never passes now + window; a later one was set under a
      -- slower rate the endpoint no longer has, and must not hold the new one back.
      tat = math.min(tat, now + window)
      -- The 0.01 ms absorbs float rounding in tat, which would otherwise make the claim at
      -- the `earliest` time below find nothing allowed yet.
      want = math.min(want, math.floor((now + window - tat + 0.01) / interval))
    end
    local taken = 0
    if want > 0 then
      local items = redis.call('ZRANGEBYSCORE', 'q:due:' .. ep, '-inf', now, 'LIMIT', 0, want)
      for _, did in ipairs(items) do
        redis.call('ZREM', 'q:due:' .. ep, did)
        local d = redis.call('HMGET', 'dlv:' .. did, 'event_id', 'attempt_count', 'manual')
        if d[1] then
          redis.call('ZADD', 'q:lease:' .. ep, now + lease_ms, did)
          redis.call('ZADD', 'q:leases', now + lease_ms, did)
          redis.call('HSET', 'dlv:' .. did, 'lease', token)
          claimed[#claimed + 1] = {did, ep, d[1], d[2], redis.call('HGET', 'evt:' .. d[1], 'payload'),
            d[3] or '0'}
          taken = taken + 1
        end
      end
    end
    if rate and taken > 0 then
      tat = tat + taken * interval
      -- %.17g keeps every bit (tostring rounds to 14 digits); kept until the next one may
      -- go, and a minute more, so a slow rate is not forgotten in between.
      redis.call('SET', 'rl:' .. ep, string.format('%.17g', tat), 'PX',
        string.format('%d', math.ceil(tat - now) + 60000))
    end
    make_ready(ep, limit)
    if rate and redis.call('ZSCORE', 'q:ready', ep) then
      -- Not before the rate limit lets the next one through.
      local earliest = tat - window + interval
      local score = tonumber(redis.call('ZSCORE', 'q:ready', ep))
      if earliest > score then redis.call('ZADD', 'q:ready', string.format('%.17g', earliest), ep) end
    end
  end
end
return {#expired, claimed}
)lua"};

const script complete_attempts{"complete_attempts", R"lua(
local now, ttl, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now_s, ttl_s = ARGV[1], ARGV[2]  -- as strings: no printf per redis.call
local results, by_status, touched = {}, {}, {}
for i = 4, #ARGV, 8 do
  local did, token, status, next_at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local code, err, attempt, disable_reason = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local key = 'dlv:' .. did
  local d = redis.call('HMGET', key, 'lease', 'endpoint_id', 'status', 'created_at', 'attempt_count')
  if d[1] ~= token then
    results[#results + 1] = 0  -- the lease is no longer ours: write nothing
  else
    local ep, count = d[2], tonumber(d[5])
    if attempt ~= '' then
      count = count + 1
      redis.call('RPUSH', 'att:' .. did, attempt)
      redis.call('PEXPIRE', 'att:' .. did, ttl_s)
    end
    redis.call('HSET', key, 'status', status, 'attempt_count', count, 'last_status_code', code,
      'last_error', err, 'next_attempt_at', next_at, 'updated_at', now_s, 'lease', '',
      'manual', '')
    if d[3] ~= status then
      redis.call('ZREM', 'idx:dlv:status:' .. d[3], did)
      local members = by_status[status]
      if not members then members = {}; by_status[status] = members end
      members[#members + 1] = d[4]
      members[#members + 1] = did
    end
    redis.call('ZREM', 'q:lease:' .. ep, did)
    redis.call('ZREM', 'q:leases', did)
    if status == 'retrying' then redis.call('ZADD', 'q:due:' .. ep, next_at, did) end

    if disable_reason ~= '' then
      -- 410 Gone: the receiver asked us to stop. Disable the endpoint and fail what waits.
      if redis.call('EXISTS', 'ep:' .. ep) == 1 then
        redis.call('HSET', 'ep:' .. ep, 'enabled', '0', 'disabled_reason', disable_reason,
          'updated_at', now)
        redis.call('INCR', 'endpoints:version')
      end
      local waiting = redis.call('ZRANGE', 'q:due:' .. ep, 0, -1)
      for _, other in ipairs(waiting) do
        local okey = 'dlv:' .. other
        local o = redis.call('HMGET', okey, 'status', 'created_at')
        if o[1] then
          redis.call('HSET', okey, 'status', 'failed', 'last_error', disable_reason,
            'next_attempt_at', '', 'updated_at', now)
          set_status(other, o[1], 'failed', tonumber(o[2]), now, ttl)
        end
      end
      redis.call('DEL', 'q:due:' .. ep)
    end
    touched[ep] = true
    results[#results + 1] = 1
  end
end
for status, members in pairs(by_status) do
  index_add_all('idx:dlv:status:' .. status, members, now, ttl_s)
end
-- Tell the caller whether a freed slot left due work waiting, so it claims only then.
local due_now = 0
for ep in pairs(touched) do
  make_ready(ep, limit)
  local score = redis.call('ZSCORE', 'q:ready', ep)
  if score and tonumber(score) <= now then due_now = 1 end
end
return {results, due_now}
)lua"};

const script release_leases{"release_leases", R"lua(
local now, token, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local released = 0
for i = 4, #ARGV do
  local did = ARGV[i]
  local key = 'dlv:' .. did
  if redis.call('HGET', key, 'lease') == token then
    local ep = redis.call('HGET', key, 'endpoint_id')
    redis.call('HDEL', key, 'lease')
    redis.call('ZREM', 'q:leases', did)
    redis.call('ZREM', 'q:lease:' .. ep, did)
    redis.call('ZADD', 'q:due:' .. ep, now, did)
    make_ready(ep, limit)
    released = released + 1
  end
end
return released
)lua"};

const script requeue_deliveries{"requeue_deliveries", R"lua(
local now, ttl, limit, pace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local allowed = ',' .. ARGV[5] .. ','
local outcomes = {}
for i = 6, #ARGV do
  local did = ARGV[i]
  local key = 'dlv:' .. did
  local d = redis.call('HMGET', key, 'status', 'endpoint_id', 'event_id', 'lease', 'created_at')
  local outcome = 'queued'
  if not d[1] then
    outcome = 'not_found'
  elseif d[4] and d[4] ~= '' then
    outcome = 'in_flight'
  elseif not string.find(allowed, ',' .. d[1] .. ',', 1, true) then
    outcome = d[1]
  elseif redis.call('EXISTS', 'evt:' .. d[3]) == 0 then
    outcome = 'event_expired'
  else
    local enabled = redis.call('HGET', 'ep:' .. d[2], 'enabled')
    if not enabled then outcome = 'endpoint_deleted'
    elseif enabled == '0' then outcome = 'endpoint_disabled' end
  end
  if outcome == 'queued' then
    local ep, due = d[2], now
    if pace > 0 then
      -- Paced per endpoint: replays take one slot every `pace` ms, after any earlier
      -- replay's slots, and fresh deliveries (due now) sort between them.
      due = math.max(now, tonumber(redis.call('GET', 'rp:' .. ep) or '0'))
      redis.call('SET', 'rp:' .. ep, tostring(due + pace), 'PX', math.floor(due + pace - now) + 60000)
    end
    redis.call('HSET', key, 'status', 'pending', 'manual', '1', 'next_attempt_at', math.floor(due),
      'updated_at', now)
    set_status(did, d[1], 'pending', tonumber(d[5]), now, ttl)
    redis.call('ZADD', 'q:due:' .. ep, due, did)
    make_ready(ep, limit)
  end
  outcomes[#outcomes + 1] = outcome
end
return outcomes
)lua"};

const script wake_endpoint{"wake_endpoint", R"lua(
make_ready(ARGV[1], tonumber(ARGV[3]))
return 1
)lua"};

}  // namespace dispatcher::redis
