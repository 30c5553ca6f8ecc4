#!/usr/bin/env python3
"""redis-server instructions per delivery of the pipeline's two hot scripts, in fixed
batches, so that two versions of dispatcher/redis/scripts.cpp compare exactly (issue 9).
The whole-pipeline count (redis_counts.py CALLGRIND=1) moves with the machine's load:
a loaded machine makes smaller batches, each paying the per-call costs again. Here the
batches are fixed: per round, EVENTS events (XADD, XREADGROUP) each to ENDPOINTS
endpoints go through ingest_events with room for all of them, then complete_attempts
completes every lease as succeeded; ROUNDS rounds after a warm-up of 700 events (and two
rounds at least), on a private redis-server (AOF everysec, as the bench) under valgrind's
callgrind, instrumented only during the measured rounds. The arguments are shaped as script_io.cpp encodes them
(sizes as the bench's: 400-byte payloads, a new connection per event, 1000 consumers).

PLAIN=1: the floor without scripts. The same rounds write the same records (each event's
e: field, each delivery's pending and then final d: field, one HSET per round into the
hour's bucket) and acknowledge the entries, as plain commands in one MULTI per step, with
a lease key per round; no dedupe, index, queue or count. INDEX=1 adds the one write per
event a script does for each event attribute index (a ZADD of the event's consumer index).
What a design that keeps Lua for its decisions only could approach.

PLAIN=0: the floor the contract sets before anything is stored: the same events
published, read through the consumer group and acknowledged (deliveries counted as events
x endpoints).

PLAIN=2: such a design, sketched: two small scripts decide (ingest: acknowledge, dedupe
through `seen`, lease what an enabled endpoint with a free slot can take, count it in
q:busy; completion: check and drop the lease members, count down, read each endpoint's
breaker) and get only ids; the records and every index of today's layout (i:all, i:ep,
the consumer's index, the connection's history, the consumer's set) are plain commands in
the same MULTI. No queueing, ordering, rate limit or breaker writes: what it measures is
the scripts' share once they no longer carry the records.

CPU=1: no valgrind; a plain redis-server (Debian's, with jemalloc, as the bench runs),
and per delivery over the measured rounds: the CPU time (user + system) of its main
thread in µs, what the instructions cost at a bench's scale (e.g. 3,000 rounds of 16
events, or 150 of 8 events to 100 endpoints); and the data bytes it retained, counted as
the bench's memory phase counts them, less the input stream. The same machine noise as
the bench: compare modes in one sitting, e.g.
  for m in 0 1 2; do PLAIN=$m CPU=1 python3 bench/count/script_cost.py S 16 1 3000; done

CALLGRIND_OUT=FILE keeps the profile. Debian's redis-server is stripped, so the Lua
interpreter shows as addresses: a build of the same version with symbols first on PATH
names them (`git archive 7.0.15` of github.com/redis/redis, `make MALLOC=libc`).

usage: python3 bench/count/script_cost.py SCRIPTS_CPP EVENTS ENDPOINTS [ROUNDS]
e.g.   python3 bench/count/script_cost.py dispatcher/redis/scripts.cpp 8 1 40
       git show main:dispatcher/redis/scripts.cpp > /tmp/old.cpp; ... /tmp/old.cpp 8 1 40"""
import hashlib, os, random, re, shutil, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from harness.redis_replies import data_bytes, encode_command, parse_info, read_reply

src = open(sys.argv[1]).read()
events, endpoints = int(sys.argv[2]), int(sys.argv[3])
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 40
parts = dict(re.findall(r'constexpr const char\* (\w+) = R"lua\((.*?)\)lua"', src, re.S))


def body(name):
    """The script's source as scripts.cpp assembles it: its helper parts, then its body
    (or, in older versions, every helper before every body)."""
    m = re.search(name + r'\{\s*"' + name + r'",\s*(?:\{([\w, ]*)\},\s*)?R"lua\((.*?)\)lua"', src,
                  re.S)
    if m.group(1) is None:
        return parts["helpers"] + m.group(2)
    return "".join(parts[p.strip()] for p in m.group(1).split(",")) + m.group(2)


ingest, complete = body("ingest_events"), body("complete_attempts")
# Since issue 9's seventh pass the caller writes the consumer's index and set itself, ahead
# of the script; an older scripts.cpp writes them inside it.
indexes_ahead = "i:consumer:" not in ingest
# Issue 9's eighth pass dropped the ingest's consumer and status arguments and packed a
# completion into `delivery, endpoint, kind, record` under runs of one token.
ingest_args_v2 = "i = i + 8 + 3 * n" in ingest
complete_args_v2 = "kind_of" in complete

# PLAIN=2's deciding scripts.
DECIDE_INGEST = r"""
local P = '{' .. KEYS[1] .. '}:'
local ARGV = ARGV
local group, token, until_ms, hour, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local ids, acks, n_at, eps, seen_ep = {}, {}, {}, {}, {}
local i, nargv = 6, #ARGV
while i <= nargv do
  ids[#ids + 1] = ARGV[i]; acks[#acks + 1] = ARGV[i + 1]
  local n = tonumber(ARGV[i + 2]); n_at[#n_at + 1] = n
  for j = i + 3, i + 2 + 2 * n, 2 do
    local ep = ARGV[j]
    if not seen_ep[ep] then seen_ep[ep] = true; eps[#eps + 1] = ep end
  end
  i = i + 3 + 2 * n
end
redis.call('XACK', KEYS[1], group, unpack(acks))
local got = redis.call('HMGET', P .. 'seen', unpack(ids))
local busy, ok = {}, {}
local b = redis.call('HMGET', P .. 'q:busy', unpack(eps))
for k, ep in ipairs(eps) do
  busy[ep] = tonumber(b[k] or '0') or 0
  local info = redis.call('HMGET', P .. 'ep:' .. ep, 'enabled', 'rate_limit', 'ordering', 'cb_open', 'cb_probe')
  ok[ep] = info[1] ~= '0' and not info[2] and not info[4]
end
local fresh, granted = {}, {}
i = 6
for e = 1, #ids do
  local n = n_at[e]
  if not got[e] then
    fresh[#fresh + 1] = ids[e]; fresh[#fresh + 1] = hour
    for j = i + 3, i + 2 + 2 * n, 2 do
      local ep, did = ARGV[j], ARGV[j + 1]
      if ok[ep] and busy[ep] < limit then
        busy[ep] = busy[ep] + 1
        granted[#granted + 1] = did .. '|' .. ep
      end
    end
  end
  i = i + 3 + 2 * n
end
if #fresh > 0 then redis.call('HSET', P .. 'seen', unpack(fresh)) end
if #granted > 0 then
  redis.call('SADD', P .. 'lease:' .. token, unpack(granted))
  redis.call('ZADD', P .. 'q:leases', until_ms, token)
end
local set = {}
for _, ep in ipairs(eps) do set[#set + 1] = ep; set[#set + 1] = tostring(busy[ep]) end
redis.call('HSET', P .. 'q:busy', unpack(set))
return #granted
"""
DECIDE_COMPLETE = r"""
local P = '{' .. KEYS[1] .. '}:'
local ARGV = ARGV
local token = ARGV[1]
local members, eps, cnt = {}, {}, {}
for i = 2, #ARGV, 2 do
  local did, ep = ARGV[i], ARGV[i + 1]
  members[#members + 1] = did .. '|' .. ep
  if not cnt[ep] then cnt[ep] = 0; eps[#eps + 1] = ep end
  cnt[ep] = cnt[ep] + 1
end
local held = redis.call('SMISMEMBER', P .. 'lease:' .. token, unpack(members))
local gone = {}
for k, f in ipairs(held) do if f == 1 then gone[#gone + 1] = members[k] end end
if #gone > 0 then redis.call('SREM', P .. 'lease:' .. token, unpack(gone)) end
local b = redis.call('HMGET', P .. 'q:busy', unpack(eps))
local set = {}
for k, ep in ipairs(eps) do
  redis.call('HMGET', P .. 'ep:' .. ep, 'enabled', 'cb_fails', 'cb_open', 'cb_probe', 'fail_since', 'ordering')
  set[#set + 1] = ep; set[#set + 1] = tostring(math.max((tonumber(b[k] or '0') or 0) - cnt[ep], 0))
end
redis.call('HSET', P .. 'q:busy', unpack(set))
return #gone
"""

stream, group, P = "lifecycle:events", "dispatcher", "{lifecycle:events}:"
tmp = tempfile.mkdtemp(prefix="dispatcher-scost-")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
cpu_mode = os.environ.get("CPU") == "1"
under = [] if cpu_mode else ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                             f"--callgrind-out-file={tmp}/callgrind.out"]
redis = subprocess.Popen(
    under + ["redis-server", "--port", str(port),
     "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
     # Each command's latency histogram is allocated again after CONFIG RESETSTAT.
     "--latency-tracking", "no",
     "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def text(reply):
    """A reply with its bulk strings as text, as the arguments are built."""
    if isinstance(reply, list):
        return [text(r) for r in reply]
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


class Conn:
    def __init__(self):
        for _ in range(600):
            try:
                self.s = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.1)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        self.s.sendall(encode_command(*args))
        return text(read_reply(self.f))


try:
    r = Conn()
    sha_i, sha_c = r.cmd("SCRIPT", "LOAD", ingest), r.cmd("SCRIPT", "LOAD", complete)
    r.cmd("XGROUP", "CREATE", stream, group, "0", "MKSTREAM")
    eps = [f"ep_{k:04d}abcdefghijkl" for k in range(endpoints)]
    for ep in eps:
        r.cmd("HSET", P + "ep:" + ep, "json", "{" + "x" * 300 + "}", "enabled", "1")
    rng = random.Random(7)
    payload = "x" * 400
    n_event = 0

    def pipeline(*commands):
        r.s.sendall(b"".join(encode_command(*c) for c in commands))
        return [text(read_reply(r.f)) for _ in commands]

    def publish_and_read():
        """A round's events published and read: the time, its hour bucket, the entry ids."""
        now = int(time.time() * 1000)
        # In one write, as a publisher pipelines them: a round trip per command would
        # cost Redis a read, a write and an epoll_wait each (CPU=1 counts those).
        got = pipeline(*[("XADD", stream, "*", "payload", payload)] * events,
                       ("XREADGROUP", "GROUP", group, "c1", "COUNT", str(events), "STREAMS",
                        stream, ">"))[-1]
        return now, "%06x" % (now // 3_600_000), [e[0] for e in got[0][1]]

    def next_event(bucket, now, order):
        """A new event's id, consumer, connection, delivery ids and e: value."""
        global n_event
        n_event += 1
        eid = "evt_%026d" % n_event
        consumer = "cus_%012d" % rng.randrange(1000)
        conn = "conn_%020d" % n_event
        dids = ["dlv_" + bucket + hashlib.sha256(f"{eid}\n{ep}".encode()).hexdigest()[:18]
                for ep in eps]
        value = "\t".join(["account.connection.updated", consumer, conn, str(now), order,
                           ",".join(dids)]) + "\n" + payload
        return eid, consumer, conn, dids, value

    def order_key(entry):
        """history::stream_order_key of a stream entry id."""
        ms, seq = entry.split("-")
        return chr(97 + len(ms)) + ms + chr(97 + len(seq)) + seq

    def pending_record(now, eid, ep):
        return "\t".join(["pending", "0", "", str(now), str(now), str(now), "0", eid, ep, ""])

    def attempt_line(now):
        return f"{now}\t200\t12\t"

    def final_record(now, eid, ep):
        return ("\t".join(["succeeded", "1", "200", "", str(now), str(now), "0", eid, ep, ""])
                + "\n" + attempt_line(now))

    def consumer_writes(now, eid, consumer, conn):
        """The consumer's index entry and connection, as stream_reader sends them ahead of
        the ingest call (script_io.hpp: encode_event_indexes)."""
        return [("ZADD", P + "i:consumer:" + consumer, "NX", str(now), eid),
                ("SADD", P + "consumer:" + consumer + ":connections", conn)]

    def one_round():
        now, bucket, entries = publish_and_read()
        round_events = []
        args = [str(now), "3600000", "16", str(events * endpoints), "tok" + str(now), "60000",
                group, "0", bucket, "50"]
        for entry in entries:
            order = order_key(entry)
            eid, consumer, conn, dids, value = next_event(bucket, now, order)
            round_events.append((eid, consumer, conn))
            member = "|".join([order, "a", bucket, eid, "u"])
            if ingest_args_v2:
                args += [eid, value, member, conn, str(now), order, entry, str(len(eps))]
            else:
                args += [eid, value, consumer, member, conn, str(now), "1", order, entry,
                         str(len(eps))]
            for ep, did in zip(eps, dids):
                args += [pending_record(now, eid, ep), ep, did]
        if indexes_ahead:
            # As stream_reader sends them (script_io.hpp: encode_event_indexes), ahead of the
            # call in the same pipeline.
            ahead = [c for e in round_events for c in consumer_writes(now, *e)]
            reply = pipeline(*ahead, ("EVALSHA", sha_i, "1", stream, *args))[-1]
        else:
            reply = r.cmd("EVALSHA", sha_i, "1", stream, *args)
        leased = reply[1]
        cargs = [str(now), "16", "20", "30000", "432000000"]
        if complete_args_v2:
            cargs += ["tok" + str(now), str(len(leased) // 3)]
        for k in range(0, len(leased), 3):
            did, ep = leased[k], leased[k + 1]
            if complete_args_v2:
                cargs += [did, ep, "s1r-", final_record(now, leased[k + 2], ep)]
            else:
                cargs += [did, ep, "tok" + str(now), "succeeded", "", "200", "",
                          attempt_line(now), "", final_record(now, leased[k + 2], ep)]
        out = r.cmd("EVALSHA", sha_c, "1", stream, *cargs)
        assert isinstance(out, list) and all(w == 1 for w in out[0]), out
        return len(leased) // 3

    def plain_round():
        now, bucket, entries = publish_and_read()
        written, completed, indexes = [], [], []
        for entry in entries:
            eid, consumer, _, dids, value = next_event(bucket, now, entry)
            written += ["e:" + eid, value]
            if os.environ.get("INDEX") == "1":
                indexes.append(("ZADD", P + "i:consumer:" + consumer, str(now), eid))
            for ep, did in zip(eps, dids):
                written += ["d:" + did, pending_record(now, eid, ep)]
                completed += ["d:" + did, final_record(now, eid, ep)]
        lease = P + "lease:tok" + str(n_event)
        pipeline(("MULTI",), ("XACK", stream, group, *entries),
                 ("HSET", P + "b:" + bucket, *written), ("SET", lease, "1", "PX", "60000"),
                 *indexes, ("EXEC",))
        pipeline(("MULTI",), ("HSET", P + "b:" + bucket, *completed), ("DEL", lease), ("EXEC",))
        return len(completed) // 2

    def floor_round():
        """What the contract costs before anything is stored: the events published, read
        through the consumer group (which propagates an XCLAIM per entry) and acknowledged."""
        _, _, entries = publish_and_read()
        r.cmd("XACK", stream, group, *entries)
        return len(entries) * endpoints

    if os.environ.get("PLAIN") == "1":
        one_round = plain_round
    if os.environ.get("PLAIN") == "0":
        one_round = floor_round

    sha_di, sha_dc = r.cmd("SCRIPT", "LOAD", DECIDE_INGEST), r.cmd("SCRIPT", "LOAD", DECIDE_COMPLETE)

    def hybrid_round():
        now, bucket, entries = publish_and_read()
        token = "tok%d" % n_event
        dargs = [group, token, str(now + 60000), bucket, "16"]
        written, completed, plain, ep_index, cargs = [], [], [], {}, [token]
        all_index = ["ZADD", P + "i:all", "NX"]
        for entry in entries:
            order = order_key(entry)
            eid, consumer, conn, dids, value = next_event(bucket, now, order)
            dargs += [eid, entry, str(len(eps))]
            written += ["e:" + eid, value]
            all_index += [str(now), eid]
            plain += consumer_writes(now, eid, consumer, conn)
            plain.append(("ZADD", P + "conn:" + conn + ":history", str(now),
                          "|".join([order, "a", bucket, eid, "u"])))
            for ep, did in zip(eps, dids):
                dargs += [ep, did]
                cargs += [did, ep]
                ep_index.setdefault(ep, []).extend([str(now), did])
                written += ["d:" + did, pending_record(now, eid, ep)]
                completed += ["d:" + did, final_record(now, eid, ep)]
        plain += [("ZADD", P + "i:ep:" + ep, *m) for ep, m in ep_index.items()]
        out = pipeline(("MULTI",), ("EVALSHA", sha_di, "1", stream, *dargs),
                       ("HSET", P + "b:" + bucket, *written), tuple(all_index), *plain, ("EXEC",))
        assert isinstance(out[-1], list), out
        out = pipeline(("MULTI",), ("EVALSHA", sha_dc, "1", stream, *cargs),
                       ("HSET", P + "b:" + bucket, *completed), ("EXEC",))
        assert isinstance(out[-1], list), out
        return len(completed) // 2

    if os.environ.get("PLAIN") == "2":
        one_round = hybrid_round

    # Past Redis's listpack limits first (hash-max-listpack-entries 512, zsets 128): a
    # running service's `seen`, i:all and i:ep are hash tables and skip lists, while a
    # small listpack is scanned linearly on every read (it made 8 x 1 read 15% high).
    for _ in range(max(2, -(-700 // events))):
        one_round()
    r.cmd("CONFIG", "RESETSTAT")

    def main_thread_seconds():
        """User + system time of Redis's main thread (the fleet's ceiling; its background
        threads and forked rewrites left out, as the bench's first Redis figure)."""
        with open(f"/proc/{redis.pid}/task/{redis.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def data_without_stream():
        """Redis's data bytes (as the bench's memory phase counts them) less the input
        stream's, which every mode grows alike and a trimmed stream gives back."""
        stream_bytes = r.cmd("MEMORY", "USAGE", stream, "SAMPLES", "0") or 0
        return data_bytes(parse_info(r.cmd("INFO", "memory"))) - stream_bytes

    if cpu_mode:
        before, memory_before = main_thread_seconds(), data_without_stream()
        delivered = sum(one_round() for _ in range(rounds))
        spent = main_thread_seconds() - before
        grown = data_without_stream() - memory_before
        print(f"{events} events x {endpoints} endpoints, {rounds} rounds: {delivered} deliveries; "
              f"redis-server main thread {spent * 1e6 / max(delivered, 1):.1f} µs per delivery; "
              f"{grown / max(delivered, 1):,.0f} bytes retained per delivery")
        sys.exit(0)
    subprocess.run(["callgrind_control", "-i", "on", str(redis.pid)], check=True,
                   stdout=subprocess.DEVNULL)
    delivered = sum(one_round() for _ in range(rounds))
    subprocess.run(["callgrind_control", "-d", str(redis.pid)], check=True,
                   stdout=subprocess.DEVNULL)
    # processCommand's inclusive count: the commands, the scripts and what they propagate,
    # without the timer (serverCron) and the AOF writes, which go with the wall time.
    total = whole = 0
    for name in sorted(os.listdir(tmp)):
        if name.startswith("callgrind.out"):
            if os.environ.get("CALLGRIND_OUT"):
                shutil.copy(os.path.join(tmp, name), os.environ["CALLGRIND_OUT"])
            out = subprocess.run(["callgrind_annotate", "--inclusive=yes", os.path.join(tmp, name)],
                                 capture_output=True, text=True).stdout
            # "???:processCommand" from Debian's stripped build, "<path>:processCommand"
            # from one with symbols.
            m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*:processCommand ", out, re.M)
            total += int(m.group(1).replace(",", "")) if m else 0
            # And with reading and parsing the commands' arguments (readQueryFromClient).
            m = re.search(r"^\s*([\d,]+) \([^)]*\)\s+\S*:readQueryFromClient ", out, re.M)
            whole += int(m.group(1).replace(",", "")) if m else 0
    stats = r.cmd("INFO", "commandstats")
    calls = {m.group(1): int(m.group(2))
             for m in re.finditer(r"cmdstat_([a-z|]+):calls=(\d+)", stats)}
    print(f"{events} events x {endpoints} endpoints, {rounds} rounds: {delivered} deliveries; "
          f"redis-server instructions per delivery {total / max(delivered, 1):,.0f} (processCommand, inclusive), "
          f"{whole / max(delivered, 1):,.0f} with reading the commands (readQueryFromClient)")
    print("commands per delivery: " + ", ".join(
        f"{k} {v / max(delivered, 1):.2f}" for k, v in sorted(calls.items(), key=lambda x: -x[1])
        if k not in ("info", "config|resetstat")))
finally:
    redis.terminate()
    redis.wait()
    shutil.rmtree(tmp, ignore_errors=True)
