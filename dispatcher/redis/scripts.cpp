// The Lua sources, in C++ so the binary carries them and their SHA1 is known at startup;
// every state change of a delivery is one of these scripts, so it is atomic in Redis.
#include "dispatcher/redis/scripts.hpp"

#include <openssl/evp.h>

namespace dispatcher::redis {

namespace {

// The helpers, in parts: each script carries only those it uses. A script runs its whole
// text on every call, so every helper it defines costs a closure each time (the helpers
// of all scripts were about 12,000 instructions a call).
// Every script: the key prefix.
constexpr const char* prefix_part = R"lua(
-- Every key carries the stream's hash tag (redis/keys.hpp); KEYS[1] is the stream.
local P = '{' .. KEYS[1] .. '}:'
-- ARGV is a global: each ARGV[i] would be two table lookups (the globals, then ARGV), and
-- the hot scripts read a dozen per delivery.
local ARGV = ARGV
)lua";

// Delivery records in their hour buckets.
constexpr const char* records_part = R"lua(
-- A delivery id's bucket: the hour it was created in, as the id's six hex digits.
local function bucket(did) return P .. 'b:' .. string.sub(did, 5, 10) end

-- A packed delivery record (history/delivery.hpp): ten tab-separated fields, then the
-- attempt lines. Returns the fields and the rest (starting with its newline, or '').
local function record_parse(v)
  local nl = string.find(v, '\n', 1, true)
  local head, rest = v, ''
  if nl then head, rest = string.sub(v, 1, nl - 1), string.sub(v, nl) end
  local f = {}
  for part in string.gmatch(head .. '\t', '([^\t]*)\t') do f[#f + 1] = part end
  for k = #f + 1, 10 do f[k] = '' end  -- a damaged record must not stop the pipeline
  return f, rest
end

local function record_pack(f, rest)
  return table.concat(f, '\t', 1, 10) .. rest
end
)lua";

// Lease sets.
constexpr const char* leases_part = R"lua(
-- Leases are granted in batches: the set lease:<token> holds "<delivery>|<endpoint>" for
-- every delivery leased under the token, and q:leases scores the token with its expiry.
-- Only the owner, who knows the token, can complete or release a lease; an expired token
-- says what to requeue. One set write per batch instead of a sorted-set write per delivery.
local function lease_set(token) return P .. 'lease:' .. token end
local function grant(token, members, until_ms)
  if #members == 0 then return end
  for first = 1, #members, 1000 do
    redis.call('SADD', lease_set(token), unpack(members, first, math.min(first + 999, #members)))
  end
  redis.call('ZADD', P .. 'q:leases', until_ms, token)
end
)lua";

// In-flight counts and readiness, written once per call.
constexpr const char* ready_part = R"lua(
-- A number handed to redis.call is formatted with printf('%.17g') each time, about 2,000
-- instructions: the hot calls pass strings ('0', ARGV[1]) instead.

-- Lua slices of at most 1000 values: its unpack fails past about 8,000 (LUAI_MAXCSTACK).
local function call_sliced(cmd, key, list)
  for first = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, first, math.min(first + 999, #list)))
  end
end

-- In-flight attempts per endpoint, in one hash: counts that reach 0 leave it. A call reads
-- the counts it needs in one HMGET (busy_load), counts in Lua, and writes what changed in
-- one HSET and one HDEL when it ends (flush): at 100 endpoints a HINCRBY (and HDEL) per
-- endpoint per call was about one command per delivery.
local busy_now, busy_dirty = {}, {}
-- `want`: endpoints not read yet, each once.
local function busy_fetch(want)
  for first = 1, #want, 1000 do
    local got = redis.call('HMGET', P .. 'q:busy', unpack(want, first, math.min(first + 999, #want)))
    for k, v in ipairs(got) do busy_now[want[first + k - 1]] = tonumber(v or '0') or 0 end
  end
end
local function busy_load(eps)
  local want = {}
  for _, ep in ipairs(eps) do
    if busy_now[ep] == nil then busy_now[ep] = 0; want[#want + 1] = ep end
  end
  busy_fetch(want)
end
local function busy(ep)
  if busy_now[ep] == nil then busy_load({ep}) end
  return busy_now[ep]
end
-- Returns the new count, as HINCRBY would have (a count at or below 0 is stored as none).
local function busy_add(ep, n)
  local now_busy = busy(ep) + n
  if n ~= 0 then busy_dirty[ep] = true end
  busy_now[ep] = math.max(now_busy, 0)
  return now_busy
end

-- q:ready's changes, written once when the call ends (flush): endpoint -> score, or false
-- to take it out. Only claim_due reads q:ready, after flushing what came before.
local ready_to = {}

-- An endpoint is ready when it has due work, a free in-flight slot and is not paused.
-- Its circuit (retry/circuit.hpp: allowance) holds it back while a probe is in flight
-- (cb_probe), and while open (cb_open) until the probe time.
-- `known`: those three fields, `known_busy` its in-flight count, `known_head` the score
-- of its due queue's first member (false: empty), when the caller has just read or
-- written them (at 100 endpoints a call does this for one or two deliveries each: every
-- command saved here is about one per delivery). Returns the score it set in q:ready,
-- nil when it took the endpoint out.
local function make_ready(ep, limit, known, known_busy, known_head)
  local info = known or redis.call('HMGET', P .. 'ep:' .. ep, 'enabled', 'cb_open', 'cb_probe')
  if info[1] == '0' or info[3] or (known_busy or busy(ep)) >= limit then
    ready_to[ep] = false
    return nil
  end
  local head = known_head
  if head == nil then
    local first = redis.call('ZRANGE', P .. 'q:due:' .. ep, '0', '0', 'WITHSCORES')
    head = first[2] or false
  end
  if not head then
    ready_to[ep] = false
    return nil
  elseif info[2] and tonumber(info[2]) and tonumber(info[2]) > tonumber(head) then
    ready_to[ep] = info[2]
    return info[2]
  else
    ready_to[ep] = head
    return head
  end
end

-- Writes the call's q:busy and q:ready changes: every script that counts or makes ready
-- calls this before it returns.
local function flush()
  if next(busy_dirty) then
    local set, gone = {}, {}
    for ep in pairs(busy_dirty) do
      local n = busy_now[ep]
      if n > 0 then
        set[#set + 1] = ep
        set[#set + 1] = string.format('%d', n)
      else
        gone[#gone + 1] = ep
      end
    end
    call_sliced('HSET', P .. 'q:busy', set)
    call_sliced('HDEL', P .. 'q:busy', gone)
    busy_dirty = {}
  end
  if next(ready_to) then
    local add, drop = {}, {}
    for ep, score in pairs(ready_to) do
      if score then
        add[#add + 1] = score
        add[#add + 1] = ep
      else
        drop[#drop + 1] = ep
      end
    end
    call_sliced('ZADD', P .. 'q:ready', add)
    call_sliced('ZREM', P .. 'q:ready', drop)
    ready_to = {}
  end
end
)lua";

// Ordering per connection.
constexpr const char* ordering_part = R"lua(
-- Ordering per connection (retry/ordering.hpp). P oh:<ep> holds each connection's head,
-- c:<conn> -> "<order>|<delivery>", and d:<delivery> -> <conn>; P oc:<ep>:<conn> the
-- deliveries held behind it, all scored 0 so they sort by member: stream order.
local function heads_key(ep) return P .. 'oh:' .. ep end
local function chain_key(ep, conn) return P .. 'oc:' .. ep .. ':' .. conn end
local function chain_did(member) return string.match(member, '|(.*)$') end

-- retry/ordering.hpp: start_head. An ordered head that has not started waits while the
-- consumer group holds a pending entry (read by an instance, not ingested yet) older than
-- its own: it may be an earlier event of its connection. Stream ids become order keys
-- (history::stream_order_key: each number prefixed by its length) to compare as numbers.
local function order_key(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if not ms then return '' end
  ms, seq = string.match(ms, '^0*(%d.*)$'), string.match(seq, '^0*(%d.*)$')
  return string.char(97 + #ms) .. ms .. string.char(97 + #seq) .. seq
end
-- The oldest pending entry's order key, false when none: read once per call (XPENDING's
-- summary), and only when an ordered head is about to start. No group yet: nothing read.
local oldest_pending
local function pending_entry(group)
  if oldest_pending == nil then
    local s = redis.pcall('XPENDING', KEYS[1], group)
    oldest_pending = type(s) == 'table' and not s.err and s[1] ~= 0 and s[2] and order_key(s[2]) or false
  end
  return oldest_pending
end
local function head_waits(group, order)
  local oldest = pending_entry(group)
  return oldest and oldest < order
end

-- Every held delivery of an ordered endpoint, its chains and heads deleted: for a switch
-- to `ordering: none` (they become due) and a disable (they fail).
local function unchain(ep)
  local heads, held = heads_key(ep), {}
  local all = redis.call('HGETALL', heads)
  for k = 1, #all, 2 do
    if string.sub(all[k], 1, 2) == 'c:' then
      local chain = chain_key(ep, string.sub(all[k], 3))
      for _, member in ipairs(redis.call('ZRANGE', chain, 0, -1)) do held[#held + 1] = chain_did(member) end
      redis.call('DEL', chain)
    end
  end
  redis.call('DEL', heads)
  return held
end
)lua";

// Disabling an endpoint (needs records_part and ordering_part).
constexpr const char* disable_part = R"lua(
-- Unix ms as RFC 3339 UTC, whole seconds (common/time.cpp: format_rfc3339; days to the
-- civil date as in Howard Hinnant's civil_from_days).
local function rfc3339(ms)
  local s = math.floor(ms / 1000)
  local days = math.floor(s / 86400)
  local rem = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) -
    math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02dZ', y, m, d, math.floor(rem / 3600),
    math.floor(rem / 60) % 60, rem % 60)
end

-- A 410, or attempts failing for DISPATCHER_DISABLE_AFTER: disable the endpoint and fail
-- what waits for it, held deliveries included. The breaker's fields go, so a re-enabled
-- endpoint starts closed.
local function disable(ep, reason, now_s)
  local key = P .. 'ep:' .. ep
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'enabled', '0', 'disabled_reason', reason, 'updated_at', now_s)
    redis.call('HDEL', key, 'cb_fails', 'cb_open', 'cb_probe', 'fail_since')
    redis.call('INCR', P .. 'endpoints:version')
  end
  local due = P .. 'q:due:' .. ep
  local waiting = unchain(ep)
  for _, did in ipairs(redis.call('ZRANGE', due, 0, -1)) do waiting[#waiting + 1] = did end
  for _, other in ipairs(waiting) do
    local OB = bucket(other)
    local ov = redis.call('HGET', OB, 'd:' .. other)
    if ov then
      local o, orest = record_parse(ov)
      o[1], o[4], o[6], o[10] = 'failed', '', now_s, reason
      redis.call('HSET', OB, 'd:' .. other, record_pack(o, orest))
    end
  end
  redis.call('DEL', due)
end
)lua";

// The circuit's probe slot.
constexpr const char* probe_part = R"lua(
-- A lease that ends without a completion (expired, released) frees the probe slot.
local function drop_probe(ep, did)
  if redis.call('HGET', P .. 'ep:' .. ep, 'cb_probe') == did then
    redis.call('HDEL', P .. 'ep:' .. ep, 'cb_probe')
  end
end
)lua";

// Batched writes.
constexpr const char* writes_part = R"lua(
-- Dropping index members past retention is housekeeping only (lists skip records that
-- are gone), so one call in 64 does it. An idle index must not outlive its records
-- either: `ttl` (i:all, one key) keeps a TTL on the key; without it (the consumers' and
-- the endpoints' indexes: a PEXPIRE per endpoint per call was about one command per
-- delivery at 100 endpoints) the retention sweep trims it (retire_hour).
-- members: a flat {score, member, ...} list.
local function index_add_all(key, members, now, retention, ttl)
  for first = 1, #members, 1000 do
    redis.call('ZADD', key, unpack(members, first, math.min(first + 999, #members)))
  end
  if now % 64 == 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - retention) end
  if ttl then redis.call('PEXPIRE', key, ttl) end
end

-- HSET of a flat {field, value, ...} list, in slices: Lua's unpack fails past about
-- 8,000 values (LUAI_MAXCSTACK).
local function hset_all(key, list)
  for first = 1, #list, 1000 do
    redis.call('HSET', key, unpack(list, first, math.min(first + 999, #list)))
  end
end
)lua";

std::vector<const script*>& registry() {
  static std::vector<const script*> scripts;
  return scripts;
}

}  // namespace

const std::vector<const script*>& all_scripts() {
  return registry();
}

script::script(const char* script_name, std::initializer_list<const char*> helpers,
               const char* body)
    : name(script_name) {
  // luacheck (tests/lint) reports unused locals: a script carries whole helper parts, of
  // which it need not call every helper.
  source = "-- luacheck: push ignore 211\n";
  for (const char* part : helpers) source += part;
  source += "-- luacheck: pop\n";
  source += body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(source.data(), source.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    sha1 += hex[digest[i] >> 4];
    sha1 += hex[digest[i] & 0xf];
  }
  registry().push_back(this);
}

const script ingest_events{
    "ingest_events",
    {prefix_part, records_part, leases_part, ready_part, ordering_part, writes_part},
    R"lua(
local now, ttl, limit, room = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local token, lease_ms, group, hour = ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[9]
local recheck_ms = tonumber(ARGV[10])
local recheck_s = string.format('%d', now + recheck_ms)
-- The caller matched these events against the endpoints as of ARGV[8]; if an endpoint
-- changed since, writing would apply the old set to events read after the change
-- answered. Write nothing: the caller reloads the endpoints and matches again.
if (redis.call('GET', P .. 'endpoints:version') or '0') ~= ARGV[8] then return 'stale' end
-- Numbers handed to redis.call are formatted with printf each time; the strings are free.
local now_s, ttl_s, lease_until = ARGV[1], ARGV[2], tostring(now + lease_ms)
local B, seen = P .. 'b:' .. hour, P .. 'seen'
local all_members, endpoints, counts, leased, granted = {}, {}, {}, {}, {}
local queued, fields, fresh, due = 0, {}, {}, {}
-- Lengths kept by hand for the lists that grow per delivery: `#t` is a binary search
-- each time, about 2% of the instructions at 100 endpoints.
local nfields, ngranted, nleased = 0, 0, 0
-- Appends a pair to a flat list, or makes the list with it: a table grown from empty is
-- resized at 1, 2, 4 ... entries, and at 100 endpoints most of a call's lists hold one
-- delivery. Returns the list.
local function push_pair(list, a, b)
  if not list then return {a, b} end
  list[#list + 1] = a
  list[#list + 1] = b
  return list
end

-- The call's event ids (for the dedupe) and stream entries, and its endpoints' attempts
-- in flight, read in one HMGET of q:busy instead of one HGET per endpoint.
-- Each event's delivery count, read once: tonumber of a string is about 1,000 instructions.
local ids_in_call, acks, event_counts, nargv = {}, {}, {}, #ARGV
do
  local i, eps = 11, {}
  while i <= nargv do
    ids_in_call[#ids_in_call + 1] = ARGV[i]
    acks[#acks + 1] = ARGV[i + 6]
    local n = tonumber(ARGV[i + 7])
    event_counts[#event_counts + 1] = n
    for j = i + 9, i + 7 + 3 * n, 3 do
      if busy_now[ARGV[j]] == nil then busy_now[ARGV[j]] = 0; eps[#eps + 1] = ARGV[j] end
    end
    i = i + 8 + 3 * n
  end
  busy_fetch(eps)
end
-- Acknowledged in the same atomic step that writes the records, so never without them;
-- first, so that the pending entries the ordering looks at (head_waits) are other
-- instances' only. In slices, as every unpack is.
for first = 1, #acks, 1000 do
  redis.call('XACK', KEYS[1], group, unpack(acks, first, math.min(first + 999, #acks)))
end
-- The dedupe in one read for the whole call: which event ids were accepted before.
local known = {}
for first = 1, #ids_in_call, 1000 do
  local got = redis.call('HMGET', seen, unpack(ids_in_call, first, math.min(first + 999, #ids_in_call)))
  for k, v in ipairs(got) do if v then known[ids_in_call[first + k - 1]] = true end end
end

-- Per event (script_io.hpp: encode): the caller built the records and the history member.
local i, event_at = 11, 0
while i <= nargv do
  event_at = event_at + 1
  local id, event_value, member = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local conn, order, n = ARGV[i + 3], ARGV[i + 5], event_counts[event_at]
  local first, last = i + 8, i + 7 + 3 * n
  if known[id] then
    counts[#counts + 1] = -1
  else
    known[id] = true  -- the same id twice in one call: the second is a duplicate
    -- The event's address: which bucket holds it.
    fresh[#fresh + 1] = id
    fresh[#fresh + 1] = hour
    -- One field per event: its record line, a newline, its bytes (history/delivery.hpp).
    fields[nfields + 1] = 'e:' .. id
    fields[nfields + 2] = event_value
    nfields = nfields + 2
    for j = first, last, 3 do
      local ep, did = ARGV[j + 1], ARGV[j + 2]
      local e = endpoints[ep]
      if not e then
        -- Lease at once (no claim round trip) only what the claim script would hand out
        -- next anyway: an enabled endpoint without a rate limit or an open circuit, with
        -- nothing due before it and a free slot.
        local info = redis.call('HMGET', P .. 'ep:' .. ep, 'enabled', 'rate_limit', 'ordering', 'cb_open',
          'cb_probe')
        local head = redis.call('ZRANGE', P .. 'q:due:' .. ep, '0', '0', 'WITHSCORES')
        e = {direct = info[1] ~= '0' and not info[2] and not info[4] and
               (#head == 0 or tonumber(head[2]) > now),
             busy = busy(ep), taken = 0, queued = false, ordered = info[3] == 'connection',
             info = info, head = head[2] or false}
        endpoints[ep] = e
      end
      fields[nfields + 1] = 'd:' .. did
      fields[nfields + 2] = ARGV[j]
      nfields = nfields + 2
      local held, later = false, false
      if e.ordered and conn ~= '' then
        -- retry/ordering.hpp: place_on_ingest. Only endpoints that ask for ordering pay this.
        local heads, chain_member = heads_key(ep), order .. '|' .. did
        local current = redis.call('HGET', heads, 'c:' .. conn)
        local take_over = false
        if current then
          local horder, hdid = string.match(current, '^([^|]*)|(.*)$')
          -- A later head that has not started (still in its due queue, never attempted)
          -- gives way to this earlier event, read late by another instance.
          if horder and horder > order and redis.call('ZSCORE', P .. 'q:due:' .. ep, hdid) then
            local hv = redis.call('HGET', bucket(hdid), 'd:' .. hdid)
            if hv and record_parse(hv)[2] == '0' then
              take_over = true
              redis.call('ZREM', P .. 'q:due:' .. ep, hdid)
              redis.call('ZADD', chain_key(ep, conn), 0, current)
              redis.call('HDEL', heads, 'd:' .. hdid)
            end
          end
        end
        if current and not take_over then
          redis.call('ZADD', chain_key(ep, conn), 0, chain_member)
          held = true
        else
          redis.call('HSET', heads, 'c:' .. conn, chain_member, 'd:' .. did, conn)
          later = head_waits(group, order)
        end
      end
      if held then
        -- Waits in its connection's chain, not in the due queue.
      elseif later then
        -- An older entry is pending: due a little later, when the claim looks again.
        due[ep] = push_pair(due[ep], recheck_s, did)
        if not e.head or tonumber(e.head) > now + recheck_ms then e.head = recheck_s end
        e.queued = true
        queued = queued + 1
      elseif e.direct and room > 0 and e.busy < limit then
        ngranted = ngranted + 1
        granted[ngranted] = did .. '|' .. ep
        e.busy = e.busy + 1
        e.taken = e.taken + 1
        room = room - 1
        leased[nleased + 1] = did
        leased[nleased + 2] = ep
        leased[nleased + 3] = id
        nleased = nleased + 3
      else
        due[ep] = push_pair(due[ep], now_s, did)
        if not e.head or tonumber(e.head) > now then e.head = now_s end
        e.direct = false  -- first in, first out: later ones wait behind this one
        e.queued = true
        queued = queued + 1
      end
      -- push_pair inlined: this runs for every delivery, and the call cost about 1% of
      -- the script's instructions at 100 endpoints (bench/count/script_cost.py 8 100).
      local members = e.index
      if members then
        local size = e.nindex
        members[size + 1] = now_s
        members[size + 2] = did
        e.nindex = size + 2
      else
        e.index, e.nindex = {now_s, did}, 2
      end
    end
    counts[#counts + 1] = n
    if n > 0 then
      -- All deliveries only on the event: one member per event, however many endpoints it
      -- went to; the list expands it through its e: record. The consumer's index, a
      -- separate key per event at 1,000 consumers, is the caller's plain ZADD NX, sent
      -- ahead of this call (script_io.hpp: encode_event_indexes).
      all_members[#all_members + 1] = now_s
      all_members[#all_members + 1] = id
    end

    -- The connection's history (history/connection.hpp): every event naming it, ordered
    -- by (created, stream position), so a late older event never overwrites the current
    -- status; status changes are marked, other events are there for the delivery list.
    -- No TTL on it, nor on its consumer's set of connections, which the caller writes
    -- (about one new key per event): the retention sweep takes the hour's members out of
    -- them (retire_hour), which saves a PEXPIRE each per event.
    if conn ~= '' then
      redis.call('ZADD', P .. 'conn:' .. conn .. ':history', ARGV[i + 4], member)
    end
  end
  i = last + 1
end

-- One write per index for the whole batch (the events of a call share the index of all
-- deliveries, and often their endpoints' indexes).
if #all_members > 0 then index_add_all(P .. 'i:all', all_members, now, ttl, ttl_s) end
-- The endpoints' indexes: swept by retire_hour, not given a TTL.
for ep, e in pairs(endpoints) do index_add_all(P .. 'i:ep:' .. ep, e.index, now, ttl, false) end
-- Every record of the call in one write per hash.
if #fresh > 0 then
  hset_all(seen, fresh)
  hset_all(B, fields)
  -- The retention sweep finds buckets here (ingest/stream_trimmer).
  redis.call('ZADD', P .. 'buckets', tonumber(hour, 16), hour)
end
for ep, d in pairs(due) do
  for first = 1, #d, 1000 do
    redis.call('ZADD', P .. 'q:due:' .. ep, unpack(d, first, math.min(first + 999, #d)))
  end
end
grant(token, granted, lease_until)
-- The endpoints deliveries were queued for: the reader counts them as full for a while
-- (delivery/read_pace), so it does not read on for them.
local queued_for = {}
for ep, e in pairs(endpoints) do
  busy_add(ep, e.taken)
  if e.queued then
    -- This call read the endpoint's fields and due queue's head and counted what it
    -- leased (e.busy) and queued (e.head). An ordered endpoint's take-over may have taken
    -- the head out: read again.
    make_ready(ep, limit, {e.info[1], e.info[4], e.info[5]}, e.busy, not e.ordered and e.head or nil)
    queued_for[#queued_for + 1] = ep
  end
end
flush()
return {counts, leased, queued, queued_for}
)lua"};

const script claim_due{
    "claim_due",
    {prefix_part, records_part, leases_part, ready_part, ordering_part, probe_part},
    R"lua(
local now, max, lease_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local limit, token, group = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local recheck = string.format('%d', now + tonumber(ARGV[7]))

-- Leases that expired belong to an instance that died mid-attempt: due again now. Tokens
-- whose deliveries all completed leave an empty set, and go here too.
local expired = 0
for _, old in ipairs(redis.call('ZRANGEBYSCORE', P .. 'q:leases', '-inf', ARGV[1], 'LIMIT', '0', '100')) do
  redis.call('ZREM', P .. 'q:leases', old)
  for _, member in ipairs(redis.call('SMEMBERS', lease_set(old))) do
    local did, ep = string.match(member, '^([^|]*)|(.*)$')
    if ep then
      expired = expired + 1
      busy_add(ep, -1)
      drop_probe(ep, did)
      if redis.call('HEXISTS', bucket(did), 'd:' .. did) == 1 then
        redis.call('ZADD', P .. 'q:due:' .. ep, now, did)
      end
      make_ready(ep, limit)
    end
  end
  redis.call('DEL', lease_set(old))
end
-- What the expired leases made ready counts below.
flush()

local claimed, granted = {}, {}
local lease_until = string.format('%d', now + lease_ms)
local eps = redis.call('ZRANGEBYSCORE', P .. 'q:ready', '-inf', ARGV[1], 'LIMIT', '0', ARGV[2])
busy_load(eps)
for _, ep in ipairs(eps) do
  if #claimed >= max then break end
  local info = redis.call('HMGET', P .. 'ep:' .. ep, 'enabled', 'rate_limit', 'cb_open', 'cb_probe',
    'ordering')
  local ordered = info[5] == 'connection'
  if info[1] == '0' then
    ready_to[ep] = false
  else
    local in_flight = busy(ep)
    local want = math.min(limit - in_flight, max - #claimed)
    -- retry/circuit.hpp: allowance. Open: nothing before the probe time, then one probe;
    -- nothing while it is in flight (make_ready below sets when to look again).
    local probing = false
    if info[4] then
      want = 0
    elseif info[3] then
      if now < (tonumber(info[3]) or 0) then want = 0 else want = math.min(want, 1); probing = true end
    end
    local rate = tonumber(info[2])
    -- Not a positive number (NaN fails the test too): a damaged hash, which limits nothing.
    if rate and not (rate > 0) then rate = nil end
    local tat, interval, window = now, 0, 0
    local rl = P .. 'rl:' .. ep
    if rate then
      -- GCRA: one delivery per `interval` ms; `tat` is when the one after the last sent may
      -- go. A delivery may go `window - interval` ms early, which allows a burst of one
      -- second's worth when rate >= 1 and none below 1 (0.5/s: exactly one every 2000 ms).
      -- The interval is capped (about 31 years) so a vanishing rate keeps finite times.
      interval = math.min(1000 / rate, 1e12)
      window = math.max(1000, interval)
      tat = math.max(tonumber(redis.call('GET', rl) or '0') or 0, now)
      -- Under an unchanged rate tat never passes now + window; a later one was set under a
      -- slower rate the endpoint no longer has, and must not hold the new one back.
      tat = math.min(tat, now + window)
      -- The 0.01 ms absorbs float rounding in tat, which would otherwise make the claim at
      -- the `earliest` time below find nothing allowed yet.
      want = math.min(want, math.floor((now + window - tat + 0.01) / interval))
    end
    local taken = 0
    local head  -- the due queue's first score once this claim is done, when known
    if want > 0 then
      local due = P .. 'q:due:' .. ep
      -- One more than may go, with scores: the first one left is the queue's next head,
      -- which make_ready then need not read.
      local got = redis.call('ZRANGE', due, '0', string.format('%d', want), 'WITHSCORES')
      local items = {}
      head = false
      for k = 1, #got, 2 do
        if #items < want and tonumber(got[k + 1]) <= now then
          items[#items + 1] = got[k]
        else
          head = got[k + 1]
          break
        end
      end
      if #items > 0 then
        -- From -inf the items are the queue's first ranks: one removal for all of them.
        redis.call('ZREMRANGEBYRANK', due, '0', string.format('%d', #items - 1))
        -- Records and payloads read with one HMGET per hour bucket, not one per delivery.
        local by_bucket, order = {}, {}
        for _, did in ipairs(items) do
          local B = bucket(did)
          local g = by_bucket[B]
          if not g then g = {}; by_bucket[B] = g; order[#order + 1] = B end
          g[#g + 1] = did
        end
        for _, B in ipairs(order) do
          local dids = by_bucket[B]
          local fields = {}
          for k, did in ipairs(dids) do fields[k] = 'd:' .. did end
          local records = redis.call('HMGET', B, unpack(fields))
          local parsed, payload_fields = {}, {}
          for k, v in ipairs(records) do
            if v then
              local f = record_parse(v)
              parsed[k] = f
              payload_fields[#payload_fields + 1] = 'e:' .. f[8]
            end
          end
          -- The payload follows the e: value's first newline (history/delivery.hpp).
          local payloads = {}
          if #payload_fields > 0 then
            payloads = redis.call('HMGET', B, unpack(payload_fields))
            for k, v in ipairs(payloads) do
              local nl = v and string.find(v, '\n', 1, true)
              payloads[k] = nl and string.sub(v, nl + 1) or false
            end
          end
          local p = 0
          for k, did in ipairs(dids) do
            local f = parsed[k]
            local later = false
            if f and ordered and f[2] == '0' and f[7] ~= '1' and pending_entry(group) then
              -- retry/ordering.hpp: start_head, for a head made due by the end of the one
              -- before it, by a switch of `ordering`, or that waited already.
              local conn = redis.call('HGET', heads_key(ep), 'd:' .. did)
              local chain_head = conn and redis.call('HGET', heads_key(ep), 'c:' .. conn)
              local horder = chain_head and string.match(chain_head, '^([^|]*)|')
              if horder and head_waits(group, horder) then
                later = true
                redis.call('ZADD', due, recheck, did)
                if not head or tonumber(head) > tonumber(recheck) then head = recheck end
              end
            end
            if f then p = p + 1 end
            if f and not later then
              granted[#granted + 1] = did .. '|' .. ep
              claimed[#claimed + 1] = {did, ep, f[8], f[2], payloads[p], f[7], f[5]}
              taken = taken + 1
            end
          end
        end
      end
    end
    busy_add(ep, taken)
    if probing and taken > 0 then
      redis.call('HSET', P .. 'ep:' .. ep, 'cb_probe', claimed[#claimed][1])
    end
    if rate and taken > 0 then
      tat = tat + taken * interval
      -- %.17g keeps every bit (tostring rounds to 14 digits); kept until the next one may
      -- go, and a minute more, so a slow rate is not forgotten in between.
      redis.call('SET', rl, string.format('%.17g', tat), 'PX',
        string.format('%d', math.ceil(tat - now) + 60000))
    end
    -- What this loop read and changed: the probe it started holds the endpoint back.
    local score = make_ready(ep, limit, {info[1], info[3], info[4] or (probing and taken > 0)},
      in_flight + taken, head)
    if rate and score then
      -- Not before the rate limit lets the next one through.
      local earliest = tat - window + interval
      if earliest > tonumber(score) then ready_to[ep] = string.format('%.17g', earliest) end
    end
  end
end
grant(token, granted, lease_until)
flush()
return {expired, claimed}
)lua"};

const script complete_attempts{
    "complete_attempts",
    {prefix_part, records_part, leases_part, ready_part, ordering_part, disable_part, writes_part},
    R"lua(
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local threshold, probe_ms, disable_after = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now_s = ARGV[1]
-- From ARGV[6]: runs of `token, count` and that many completions, each `delivery,
-- endpoint, kind` and the fields its kind names (script_io.hpp: encode(complete_request)).
-- The kind, four letters: the status (s, r, f, p); '1' when an attempt was made; 'r' when
-- the whole record follows (after the next attempt's time, when retrying), 'a' when the
-- attempt is appended to the stored one (next attempt, code, error, attempt line follow);
-- 'd' when a reason to disable the endpoint comes last. A first attempt that succeeded is
-- four strings, not ten: Redis parses each argument into an object, and Lua interns it
-- (issue 9).
local status_names = {s = 'succeeded', r = 'retrying', f = 'failed', p = 'pending'}
local kinds = {}
local function kind_of(text)
  local k = kinds[text]
  if not k then
    k = {status = status_names[string.sub(text, 1, 1)] or 'failed', attempted = string.sub(text, 2, 2) == '1',
         whole = string.sub(text, 3, 3) == 'r', disable = string.sub(text, 4, 4) == 'd'}
    local fields = k.whole and 1 or 4
    if k.whole and k.status == 'retrying' then fields = 2 end
    k.width = 3 + fields + (k.disable and 1 or 0)
    kinds[text] = k
  end
  return k
end
-- Which leases are still ours: one question per token. `starts` holds where each
-- completion's arguments begin; `ours` is a list in the same order.
local by_token, starts, nstarts = {}, {}, 0
do
  local i, nargv = 6, #ARGV
  while i <= nargv do
    local token, n = ARGV[i], tonumber(ARGV[i + 1])
    local t = by_token[token]
    if not t then t = {members = {}, at = {}, n = 0}; by_token[token] = t end
    i = i + 2
    local members, at, tn = t.members, t.at, t.n
    for _ = 1, n do
      nstarts = nstarts + 1
      starts[nstarts] = i
      tn = tn + 1
      members[tn] = ARGV[i] .. '|' .. ARGV[i + 1]
      at[tn] = nstarts
      i = i + kind_of(ARGV[i + 2]).width
    end
    t.n = tn
  end
end
local ours = {}
for k = 1, nstarts do ours[k] = false end
for token, t in pairs(by_token) do
  local set = lease_set(token)
  local held = redis.call('SMISMEMBER', set, unpack(t.members))
  local gone, ngone = {}, 0
  for k, flag in ipairs(held) do
    if flag == 1 then
      ours[t.at[k]] = true
      ngone = ngone + 1
      gone[ngone] = t.members[k]
    end
  end
  if ngone > 0 then redis.call('SREM', set, unpack(gone)) end
end

-- Each endpoint's breaker, read once per call and written back once at the end, and
-- whether it has ordered heads (retry/circuit.hpp, retry/ordering.hpp).
local breakers, breaker_eps = {}, {}  -- and the endpoints in the order first seen
local function breaker(ep)
  local b = breakers[ep]
  if not b then
    local v = redis.call('HMGET', P .. 'ep:' .. ep, 'enabled', 'cb_fails', 'cb_open', 'cb_probe',
      'fail_since', 'ordering')
    b = {exists = v[1] ~= false and v[1] ~= nil, enabled = v[1], fails = tonumber(v[2]) or 0, open = v[3] or false,
         probe = v[4] or false, since = tonumber(v[5]), dirty = false, disabled = false,
         ordered = v[6] == 'connection', completed = 0}
    -- A deleted endpoint's chains still drain: each head fails in turn ("endpoint was
    -- deleted") and lets the next go. Switching ordering off unchains at once (wake_endpoint),
    -- so an existing endpoint has heads only while its hash says connection.
    if not b.exists then b.ordered = redis.call('EXISTS', heads_key(ep)) == 1 end
    breakers[ep] = b
    breaker_eps[#breaker_eps + 1] = ep
  end
  return b
end

local results, writes, bucket_keys = {}, {}, {}
local disabled = {}  -- endpoint, reason: the endpoints this call disabled
for at, i in ipairs(starts) do
  local did, ep, kind = ARGV[i], ARGV[i + 1], kind_of(ARGV[i + 2])
  local status, attempted = kind.status, kind.attempted
  local next_at, code, err, attempt, record = '', '', '', '', ''
  if not kind.whole then
    next_at, code, err, attempt = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  elseif status == 'retrying' then
    next_at, record = ARGV[i + 3], ARGV[i + 4]
  else
    record = ARGV[i + 3]
  end
  local disable_reason = kind.disable and ARGV[i + kind.width - 1] or ''
  if not ours[at] then
    results[at] = 0  -- the lease is no longer ours: write nothing
  else
    local b = breaker(ep)
    b.completed = b.completed + 1
    if attempted and b.exists and not b.disabled then
      -- retry/circuit.hpp: after_attempt.
      if status == 'succeeded' then
        if b.fails > 0 or b.open or b.probe or b.since then
          b.fails, b.open, b.probe, b.since, b.dirty = 0, false, false, nil, true
        end
      else
        b.fails, b.dirty = b.fails + 1, true
        if not b.since then b.since = now end
        if b.probe == did then
          b.probe, b.open = false, tostring(now + probe_ms)
        elseif not b.open and b.fails >= threshold then
          b.open = tostring(now + probe_ms)
        end
        if disable_reason == '' and now - b.since >= disable_after then
          disable_reason = 'every attempt failed since ' .. rfc3339(b.since) ..
            ' (DISPATCHER_DISABLE_AFTER); disabled at ' .. rfc3339(now)
        end
      end
    end
    if disable_reason ~= '' then
      -- 410 Gone (the receiver asked us to stop), or failing for too long.
      if b.exists and not b.disabled then
        disabled[#disabled + 1] = ep
        disabled[#disabled + 1] = disable_reason
      end
      disable(ep, disable_reason, now_s)
      b.disabled, b.dirty, b.ordered = true, false, false
    end
    -- Nothing is retried for a disabled endpoint: this delivery fails with what waited.
    local fail_now = b.disabled and status == 'retrying'
    if fail_now then status, next_at = 'failed', '' end

    -- bucket(did), with the key made once per hour rather than once per delivery.
    local hour = string.sub(did, 5, 10)
    local B = bucket_keys[hour]
    if not B then B = P .. 'b:' .. hour; bucket_keys[hour] = B end
    if record ~= '' and fail_now then
      local f, rest = record_parse(record)
      f[1], f[4] = status, next_at
      record = record_pack(f, rest)
    elseif record == '' then
      -- Not a first attempt: the stored attempts are kept and this one appended.
      local v = redis.call('HGET', B, 'd:' .. did)
      if v then
        local f, rest = record_parse(v)
        if attempted then
          f[2] = tostring((tonumber(f[2]) or 0) + 1)
          rest = rest .. '\n' .. attempt
        end
        f[1], f[3], f[4], f[6], f[7], f[10] = status, code, next_at, now_s, '0', err
        record = record_pack(f, rest)
      end
    end
    if record ~= '' then
      -- Written together per bucket: one HSET for the batch's records of each hour.
      local w = writes[B]
      if not w then w = {n = 0}; writes[B] = w end
      local n = w.n
      w[n + 1] = 'd:' .. did
      w[n + 2] = record
      w.n = n + 2
      if status == 'retrying' then redis.call('ZADD', P .. 'q:due:' .. ep, next_at, did) end
    end

    if b.ordered and (status == 'succeeded' or status == 'failed') then
      -- retry/ordering.hpp: releases_next. A replay is no head: nothing to advance.
      local heads = heads_key(ep)
      local conn = redis.call('HGET', heads, 'd:' .. did)
      if conn then
        redis.call('HDEL', heads, 'd:' .. did)
        local nxt = redis.call('ZPOPMIN', chain_key(ep, conn))
        if #nxt > 0 then
          local ndid = chain_did(nxt[1])
          redis.call('HSET', heads, 'c:' .. conn, nxt[1], 'd:' .. ndid, conn)
          redis.call('ZADD', P .. 'q:due:' .. ep, now_s, ndid)
        else
          redis.call('HDEL', heads, 'c:' .. conn)
        end
      end
    end
    results[at] = 1
  end
end
for key, w in pairs(writes) do hset_all(key, w) end
for ep, b in pairs(breakers) do
  if b.dirty then
    local key = P .. 'ep:' .. ep
    if b.fails > 0 then
      redis.call('HSET', key, 'cb_fails', tostring(b.fails), 'fail_since', string.format('%d', b.since))
    else
      redis.call('HDEL', key, 'cb_fails', 'fail_since')
    end
    if b.open then redis.call('HSET', key, 'cb_open', b.open) else redis.call('HDEL', key, 'cb_open') end
    if b.probe then redis.call('HSET', key, 'cb_probe', b.probe) else redis.call('HDEL', key, 'cb_probe') end
  end
end
-- Tell the caller whether a freed slot left due work waiting, so it claims only then.
local due_now = 0
-- Every endpoint with a completion has a breaker (read or not), and only those; none has
-- its count read yet, so they are the HMGET's list as they stand.
busy_fetch(breaker_eps)
for _, ep in ipairs(breaker_eps) do
  local b = breakers[ep]
  local now_busy = math.max(busy_add(ep, -b.completed), 0)
  -- The breaker read the hash already (and wrote what changed): no second read; nor of
  -- q:busy, read above for every endpoint of the call.
  local score
  if b.exists and not b.disabled then
    score = make_ready(ep, limit, {b.enabled, b.open, b.probe}, now_busy)
  else
    score = make_ready(ep, limit, nil, now_busy)
  end
  if score and tonumber(score) <= now then due_now = 1 end
end
flush()
return {results, due_now, disabled}
)lua"};

const script release_leases{
    "release_leases", {prefix_part, leases_part, ready_part, probe_part}, R"lua(
local now, token, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local released = 0
for i = 4, #ARGV, 2 do
  local did, ep = ARGV[i], ARGV[i + 1]
  if redis.call('SREM', lease_set(token), did .. '|' .. ep) == 1 then
    busy_add(ep, -1)
    drop_probe(ep, did)
    redis.call('ZADD', P .. 'q:due:' .. ep, now, did)
    make_ready(ep, limit)
    released = released + 1
  end
end
flush()
return released
)lua"};

const script requeue_deliveries{
    "requeue_deliveries", {prefix_part, records_part, ready_part}, R"lua(
local now, limit, pace = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local allowed = ',' .. ARGV[4] .. ','
local outcomes = {}
for i = 5, #ARGV do
  local did = ARGV[i]
  local B = bucket(did)
  local v = redis.call('HGET', B, 'd:' .. did)
  local outcome = 'queued'
  local f, rest
  if not v then
    outcome = 'not_found'
  else
    f, rest = record_parse(v)
    local status, ep = f[1], f[9]
    -- A delivery waiting or retrying is in its due queue; one that is not is leased to an
    -- attempt running now.
    local waiting = redis.call('ZSCORE', P .. 'q:due:' .. ep, did)
    if (status == 'pending' or status == 'retrying') and not waiting then
      outcome = 'in_flight'
    elseif not string.find(allowed, ',' .. status .. ',', 1, true) then
      outcome = status
    elseif redis.call('HEXISTS', B, 'e:' .. f[8]) == 0 then
      outcome = 'event_expired'
    else
      local enabled = redis.call('HGET', P .. 'ep:' .. ep, 'enabled')
      if not enabled then outcome = 'endpoint_deleted'
      elseif enabled == '0' then outcome = 'endpoint_disabled' end
    end
  end
  if outcome == 'queued' then
    local ep, due = f[9], now
    if pace > 0 then
      -- Paced per endpoint: replays take one slot every `pace` ms, after any earlier
      -- replay's slots, and fresh deliveries (due now) sort between them.
      local rp = P .. 'rp:' .. ep
      due = math.max(now, tonumber(redis.call('GET', rp) or '0'))
      redis.call('SET', rp, tostring(due + pace), 'PX', math.floor(due + pace - now) + 60000)
    end
    f[1], f[4], f[6], f[7] = 'pending', string.format('%d', math.floor(due)), ARGV[1], '1'
    redis.call('HSET', B, 'd:' .. did, record_pack(f, rest))
    redis.call('ZADD', P .. 'q:due:' .. ep, due, did)
    make_ready(ep, limit)
  end
  outcomes[#outcomes + 1] = outcome
end
flush()
return outcomes
)lua"};

const script retire_hour{"retire_hour", {prefix_part}, R"lua(
local hour, cutoff, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local trimmed, histories = {}, {}
-- Scored by receipt time: everything before the end of this hour is this hour's or older.
for i = 4, 3 + n do
  redis.call('ZREMRANGEBYSCORE', P .. 'i:ep:' .. ARGV[i], '-inf', '(' .. cutoff)
end
for i = 4 + n, #ARGV, 2 do
  local consumer, conn = ARGV[i], ARGV[i + 1]
  if not trimmed[consumer] then
    trimmed[consumer] = true
    redis.call('ZREMRANGEBYSCORE', P .. 'i:consumer:' .. consumer, '-inf', '(' .. cutoff)
  end
  if conn ~= '' and not histories[conn] then
    histories[conn] = true
    local hkey = P .. 'conn:' .. conn .. ':history'
    -- Members name their hour (history/connection.hpp), six hex digits that sort as numbers.
    -- The newest status stays while the connection has later events: its status is still
    -- known, as it was when the whole key lived until its last event's TTL.
    local drop, later, last_status, last_status_old = {}, false, nil, false
    for _, m in ipairs(redis.call('ZRANGE', hkey, 0, -1)) do
      local st, h = string.match(m, '^[^|]*|([^|]*)|([^|]*)|')
      local old = h ~= nil and h <= hour
      if old then drop[#drop + 1] = m else later = true end
      if st and st ~= '-' then last_status, last_status_old = m, old end
    end
    if later and last_status_old then
      for k = #drop, 1, -1 do
        if drop[k] == last_status then table.remove(drop, k); break end
      end
    end
    for first = 1, #drop, 1000 do
      redis.call('ZREM', hkey, unpack(drop, first, math.min(first + 999, #drop)))
    end
    if not later then redis.call('SREM', P .. 'consumer:' .. consumer .. ':connections', conn) end
  end
end
return 1
)lua"};

const script wake_endpoint{
    "wake_endpoint", {prefix_part, records_part, ready_part, ordering_part}, R"lua(
local ep, limit, now_s = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local heads, due = heads_key(ep), P .. 'q:due:' .. ep
-- A change of `ordering` applies to the deliveries not yet attempted (CONTRACT section 9).
if redis.call('HGET', P .. 'ep:' .. ep, 'ordering') ~= 'connection' then
  -- Switched off (or never on): what waited behind a head goes now.
  if redis.call('EXISTS', heads) == 1 then
    for _, did in ipairs(unchain(ep)) do redis.call('ZADD', due, now_s, did) end
  end
elseif redis.call('EXISTS', heads) == 0 then
  -- Switched on: per connection, the earliest waiting delivery becomes the head
  -- (retry/ordering.hpp) and the later ones that were never attempted wait behind it.
  -- Replays (manual) stay unordered; deliveries in flight now finish unordered.
  local groups, conns = {}, {}
  for _, did in ipairs(redis.call('ZRANGE', due, 0, -1)) do
    local B = bucket(did)
    local v = redis.call('HGET', B, 'd:' .. did)
    if v then
      local f = record_parse(v)
      local ev = f[7] ~= '1' and redis.call('HGET', B, 'e:' .. f[8])
      if ev then
        local e = {}
        -- The record line only: the payload follows the first newline.
        local nl = string.find(ev, '\n', 1, true)
        if nl then ev = string.sub(ev, 1, nl - 1) end
        for part in string.gmatch(ev .. '\t', '([^\t]*)\t') do e[#e + 1] = part end
        local conn, order = e[3] or '', e[5] or ''
        if conn ~= '' then
          if not groups[conn] then groups[conn] = {}; conns[#conns + 1] = conn end
          local g = groups[conn]
          g[#g + 1] = {order = order, did = did, started = f[2] ~= '0'}
        end
      end
    end
  end
  for _, conn in ipairs(conns) do
    local g = groups[conn]
    table.sort(g, function(a, b) return a.order < b.order end)
    redis.call('HSET', heads, 'c:' .. conn, g[1].order .. '|' .. g[1].did, 'd:' .. g[1].did, conn)
    for k = 2, #g do
      if not g[k].started then
        redis.call('ZREM', due, g[k].did)
        redis.call('ZADD', chain_key(ep, conn), 0, g[k].order .. '|' .. g[k].did)
      end
    end
  end
end
make_ready(ep, limit)
flush()
return 1
)lua"};

const script forget_idle_consumers{"forget_idle_consumers", {}, R"lua(
local group, idle_ms = ARGV[1], tonumber(ARGV[2])
-- No stream or no group yet: no consumers.
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], group)
if type(consumers) ~= 'table' or consumers.err then return {} end
local gone = {}
for _, c in ipairs(consumers) do
  local f = {}
  for k = 1, #c - 1, 2 do f[c[k]] = c[k + 1] end
  if f.pending == 0 and tonumber(f.idle) and tonumber(f.idle) > idle_ms then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], group, f.name)
    gone[#gone + 1] = f.name
  end
end
return gone
)lua"};

}  // namespace dispatcher::redis
