#!/usr/bin/env python3
"""Chaos test: three `dispatcher serve` instances share one Redis (AOF on) while a steady
publisher runs, receivers fail at random, an instance is killed with SIGKILL and restarted
every --kill-every seconds and Redis itself is killed and restarted once. At the end the
publisher stops, the system drains (bounded), everything stops, and a table says whether
every published event reached every endpoint it matched.

Why these choices:
- Redis runs with appendonly yes, appendfsync everysec, no RDB snapshots, in a private
  directory under the temporary folder. It is restarted with SIGKILL, not SHUTDOWN: a
  crash is the case that can lose data (SHUTDOWN rewrites and fsyncs the AOF first). Only
  the process dies, so what Redis had write(2)n survives in the page cache, and Redis
  writes the AOF buffer before it sends replies; the one second everysec may lose is lost
  only when the machine itself fails (or when Redis postponed an AOF write behind a slow
  fsync), which a test on one machine cannot provoke. So every acknowledged XADD must
  survive, and "lost" must be 0 across the Redis crash too.
- Instance a keeps a fixed DISPATCHER_CONSUMER (a restart takes over its own pending
  entries); b and c use the default `<host>-<pid>`, so each of their restarts is a new
  consumer and what the dead one held must be taken over by someone else.
- Each event carries its own "id" (chaos-<run>-<n>). When the connection to Redis drops
  before an XADD is answered the publisher sends the same event again, as a real producer
  would; the dispatcher's dedupe on the event id must make that harmless.
- The receivers run in their own process (receiver.py): 2xx, 500, a stall past the request
  timeout, or a connection reset, drawn per request with per-endpoint weights.

Definitions (the table):
- published: events whose XADD Redis acknowledged.
- expected: (endpoint, event) pairs where the event matches the endpoint's filters.
- succeeded: expected pairs the receiver answered 2xx at least once.
- failed: expected pairs whose delivery is `failed` (retries exhausted) in the admin API
  and that never got a 2xx.
- lost: expected pairs with no 2xx that are not `failed`. Must be 0.
- duplicates: pairs answered 2xx more than once (at-least-once allows it, e.g. an instance
  killed between the receiver's 2xx and the attempt's record).
- takeover: for each kill, right after the process is reaped, the controller lists what the
  dead consumer held: its stream entries pending in the group (XPENDING <consumer>) and the
  deliveries leased under its tokens (the sets {stream}:lease:<consumer>:<n> named in
  {stream}:q:leases). It polls every 200 ms; an entry is taken over once it is no longer
  pending under the dead consumer (acknowledged, or claimed by another), a lease once the
  delivery has left the dead token's set (handed back by an expired-lease sweep, or
  recorded). The kill's takeover
  time is when the last of them went; "longest takeover" is the maximum over kills.
- peak RSS: VmHWM of each instance, sampled every 0.5 s and just before each kill; the
  maximum over all lives of that instance.

Exit status: 0 when nothing was lost, no instance exited on its own and each exited 0 on
the final SIGTERM; 1 otherwise. --binary may be a sanitizer build: its reports end the
process (an unexpected exit) and stay in the instance's log.
"""

import argparse
import collections
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
STREAM = "lifecycle:events"
GROUP = "dispatcher"
KEYS = "{" + STREAM + "}:"  # every other key carries the stream's hash tag
TYPES = ("created", "updated", "deleted")
CONSUMERS = 8

# Per-endpoint filters and receiver behaviour (weights of ok / 500 / stall / reset).
# "flaky" fails 70% of attempts, so about 0.7^8 = 6% of its deliveries end `failed` and
# the failed path is counted too; stalls are kept rare because each one holds an
# endpoint slot for the whole request timeout.
ENDPOINTS = {
    "steady": {"filters": {},
               "weights": {"ok": 0.80, "error": 0.08, "stall": 0.02, "reset": 0.10}},
    "picky": {"filters": {"events": ["account.connection.created",
                                     "account.connection.updated"],
                          "consumers": [f"11111111-1111-4111-8111-{c:012x}" for c in range(4)]},
              "weights": {"ok": 0.90, "error": 0.04, "stall": 0.02, "reset": 0.04}},
    "flaky": {"filters": {"events": ["account.connection.deleted"]},
              "weights": {"ok": 0.30, "error": 0.38, "stall": 0.04, "reset": 0.28}},
}


def matches(endpoint, n):
    """Whether event number n matches the endpoint (the same rule the dispatcher applies)."""
    f = ENDPOINTS[endpoint]["filters"]
    if f.get("events") and f"account.connection.{TYPES[n % 3]}" not in f["events"]:
        return False
    return not f.get("consumers") or consumer_id(n) in f["consumers"]


def consumer_id(n):
    return f"11111111-1111-4111-8111-{(n // 3) % CONSUMERS:012x}"


def event_payload(run, n):
    kind = TYPES[n % 3]
    event = {
        "id": f"chaos-{run}-{n}",
        "event": f"account.connection.{kind}",
        "accountid": "7f9c2c1e-8a3b-4c5d-9e6f-0a1b2c3d4e5f",
        "consumerid": consumer_id(n),
        "connectionid": f"33333333-3333-4333-8333-{n % 1000:012x}",
        "created": int(time.time()),
        "data": {"n": n},
    }
    if kind != "deleted":
        event["status"] = "active" if kind == "created" else "inactive"
    return json.dumps(event, separators=(",", ":"))


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisError(Exception):
    """An error reply (the connection itself is fine)."""


class Redis:
    """A small blocking RESP client: enough for XADD, XPENDING, ZRANGE and pipelines."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def close(self):
        try:
            self.reader.close()
            self.sock.close()
        except OSError:
            pass

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(out)

    def read(self):
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        kind, value = line[:1], line[1:-2]
        if kind == b"+":
            return value.decode()
        if kind == b"-":
            return RedisError(value.decode())
        if kind == b":":
            return int(value)
        if kind == b"$":
            if int(value) < 0:
                return None
            data = self.reader.read(int(value) + 2)
            if len(data) != int(value) + 2:
                raise ConnectionError("connection closed")
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            return None if int(value) < 0 else [self.read() for _ in range(int(value))]
        raise ConnectionError(f"bad reply {line!r}")

    def send(self, commands):
        self.sock.sendall(b"".join(self.encode(c) for c in commands))

    def pipeline(self, commands):
        """Replies in order; error replies come back as RedisError values, not raised."""
        self.send(commands)
        return [self.read() for _ in commands]

    def command(self, *args):
        reply = self.pipeline([args])[0]
        if isinstance(reply, RedisError):
            raise reply
        return reply


class Publisher(threading.Thread):
    """XADDs `rate` events/s on an absolute schedule. An event is published once Redis
    acknowledged it; until then (connection lost, LOADING after a restart) it is sent again
    with the same id."""

    def __init__(self, port, rate, run):
        super().__init__(daemon=True)
        self.port, self.rate, self.run_id = port, rate, run
        self.stop_event = threading.Event()
        self.acked = []  # event numbers, in acknowledgement order
        self.resent = set()  # events sent again after no answer or an error reply
        self.errors = collections.Counter()
        self.next_n = 0

    def run(self):
        conn, pending, start = None, collections.deque(), time.monotonic()
        while True:
            stopping = self.stop_event.is_set()
            if not stopping:
                due = int((time.monotonic() - start) * self.rate)
                while self.next_n < due:
                    pending.append((self.next_n, False))
                    self.next_n += 1
            if stopping and not pending:
                break
            if pending:
                batch = [pending.popleft() for _ in range(min(len(pending), 500))]
                done, refused = 0, False
                try:
                    if conn is None:
                        conn = Redis(self.port, timeout=2.0)
                    conn.send([("XADD", STREAM, "*", "payload", event_payload(self.run_id, n))
                               for n, _ in batch])
                    for n, _ in batch:
                        reply = conn.read()
                        done += 1
                        if isinstance(reply, RedisError):
                            self.errors[str(reply).split(" ")[0]] += 1
                            pending.append((n, True))
                            refused = True
                        else:
                            self.acked.append(n)
                except OSError as e:
                    self.errors[type(e).__name__] += 1
                    if conn:
                        conn.close()
                    conn = None
                    # Unanswered: maybe written, maybe not. Send again with the same id.
                    for item in reversed(batch[done:]):
                        pending.appendleft((item[0], True))
                    time.sleep(0.1)
                self.resent.update(n for n, again in batch if again)
                if refused:  # LOADING while Redis replays its AOF: no busy loop
                    time.sleep(0.1)
            time.sleep(0.005)
        if conn:
            conn.close()


class Instance:
    """One dispatcher slot (a, b, c), restarted in place after each kill."""

    def __init__(self, ctl, slot, fixed_consumer):
        self.ctl, self.slot, self.fixed_consumer = ctl, slot, fixed_consumer
        self.proc = None
        self.port = None
        self.consumer = None
        self.lives = []  # {pid, consumer, start, end, how, peak_rss_kb}
        self.log_path = os.path.join(ctl.tmp, f"dispatcher-{slot}.log")

    def start(self):
        self.port = free_port()
        env = dict(os.environ)
        env.update(self.ctl.dispatcher_env)
        env["DISPATCHER_LISTEN"] = f"127.0.0.1:{self.port}"
        env.pop("DISPATCHER_CONSUMER", None)
        if self.fixed_consumer:
            env["DISPATCHER_CONSUMER"] = self.fixed_consumer
        logf = open(self.log_path, "ab")
        logf.write(f"--- chaos: starting instance {self.slot} at {time.strftime('%H:%M:%S')}\n"
                   .encode())
        logf.flush()
        self.proc = subprocess.Popen([self.ctl.binary, "serve"], env=env, stdout=logf,
                                     stderr=subprocess.STDOUT)
        logf.close()
        self.consumer = self.fixed_consumer or f"{socket.gethostname()}-{self.proc.pid}"
        self.lives.append({"pid": self.proc.pid, "consumer": self.consumer,
                           "start": time.monotonic() - self.ctl.t0, "end": None, "how": None,
                           "peak_rss_kb": 0})

    def wait_healthy(self, timeout=20):
        """/healthz, not /readyz: a restart may fall while Redis is down."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return True
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        return False

    def sample_rss(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        kb = int(line.split()[1])
                        life = self.lives[-1]
                        life["peak_rss_kb"] = max(life["peak_rss_kb"], kb)
        except OSError:
            pass

    def kill(self):
        self.sample_rss()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.lives[-1].update(end=time.monotonic() - self.ctl.t0, how="SIGKILL")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        with self.ctl.lock:  # the watcher must not take this exit for a crash
            self.sample_rss()
            self.lives[-1]["how"] = "SIGTERM"
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
            how = f"SIGTERM, exit {self.proc.returncode}"
            if self.proc.returncode != 0:  # a sanitizer's report at exit lands here too
                self.ctl.bad_stops.append({"slot": self.slot, "pid": self.proc.pid,
                                           "code": self.proc.returncode})
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            how = "ignored SIGTERM for 30 s; killed"
        self.lives[-1].update(end=time.monotonic() - self.ctl.t0, how=how)

    def peak_rss_mb(self):
        return max(life["peak_rss_kb"] for life in self.lives) / 1024


class Takeover:
    """What one killed consumer held, and when each piece was taken over."""

    def __init__(self, slot, consumer, t_kill, entries, leases):
        self.slot, self.consumer, self.t_kill = slot, consumer, t_kill
        self.entries = {e: None for e in entries}  # stream id -> seconds after the kill
        # "<delivery id>|<endpoint id>" -> [token, s]
        self.leases = {d: [tok, None] for d, tok in leases.items()}
        self.stale_leases = 0

    def open(self):
        return any(v is None for v in self.entries.values()) or \
            any(v[1] is None for v in self.leases.values())

    def seconds(self):
        times = [v for v in self.entries.values() if v is not None] + \
                [v[1] for v in self.leases.values() if v[1] is not None]
        return max(times) if times else 0.0

    def summary(self):
        return {"slot": self.slot, "consumer": self.consumer,
                "killed_at_s": round(self.t_kill, 2),
                "stream_entries": len(self.entries), "leases": len(self.leases),
                "stale_leases": self.stale_leases,
                "unresolved": sum(v is None for v in self.entries.values()) +
                sum(v[1] is None for v in self.leases.values()),
                "takeover_s": round(self.seconds(), 2),
                "entries_s": round(max([v for v in self.entries.values() if v is not None],
                                       default=0.0), 2),
                "leases_s": round(max([v[1] for v in self.leases.values() if v[1] is not None],
                                      default=0.0), 2)}


class Chaos:
    def __init__(self, args):
        self.args = args
        self.binary = args.binary
        self.run_id = os.urandom(4).hex()
        self.tmp = tempfile.mkdtemp(prefix="dispatcher-chaos-")
        self.token = "chaos-" + os.urandom(16).hex()
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.takeovers = []
        self.redis_events = []
        self.disruptions = []  # (kind, unix time, seconds down)
        self.unexpected_exits = []
        self.bad_stops = []  # instances that did not exit 0 after the final SIGTERM
        self.endpoint_ids = {}
        self.redis_proc = None
        self.receiver = None
        self.instances = []
        self.dispatcher_env = {}

    def now(self):
        return time.monotonic() - self.t0

    # ---- Redis -----------------------------------------------------------------------
    def start_redis(self):
        if not hasattr(self, "redis_port"):
            self.redis_port = free_port()
            os.makedirs(os.path.join(self.tmp, "redis"))
        self.redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--dir", os.path.join(self.tmp, "redis"), "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec",
             "--logfile", os.path.join(self.tmp, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # PING answers LOADING while the AOF replays
            try:
                c = Redis(self.redis_port, timeout=1)
                try:
                    if c.command("PING") == "PONG":
                        return
                finally:
                    c.close()
            except (OSError, RedisError):
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def restart_redis(self):
        t, wall = self.now(), time.time()
        self.redis_proc.send_signal(signal.SIGKILL)
        self.redis_proc.wait()
        time.sleep(1.0)  # down for a moment: clients see refused connections, not a blip
        self.start_redis()
        replay = None
        with open(os.path.join(self.tmp, "redis.log")) as f:
            for line in f:
                if "DB loaded from append only file:" in line:
                    replay = float(line.rsplit(":", 1)[1].split()[0])
        self.disruptions.append(("redis", wall, self.now() - t))
        self.redis_events.append({"killed_at_s": round(t, 2),
                                  "back_after_s": round(self.now() - t, 2),
                                  "aof_replay_s": replay})
        log(f"redis-server killed (SIGKILL) and restarted on its AOF: back after "
            f"{self.now() - t:.1f} s (AOF replay {replay} s)")

    def redis(self):
        return Redis(self.redis_port)

    # ---- receiver and endpoints --------------------------------------------------------
    def start_receiver(self):
        port_file = os.path.join(self.tmp, "receiver.port")
        self.accepted_path = os.path.join(self.tmp, "accepted.log")
        self.receiver_stats_path = os.path.join(self.tmp, "receiver-stats.json")
        self.receiver = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "receiver.py"),
             "--weights", json.dumps({k: v["weights"] for k, v in ENDPOINTS.items()}),
             "--stall", str(self.args.request_timeout_s + 1.0),
             "--log", self.accepted_path, "--stats", self.receiver_stats_path,
             "--port-file", port_file])
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.receiver.poll() is not None:
                raise RuntimeError("receiver did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            self.receiver_port = int(f.read())
        self.accepted = collections.Counter()
        self.accepted_at = {}  # pair -> unix times of its 2xx answers
        self.accepted_offset = 0

    def read_accepted(self):
        """Tails the receiver's log of 2xx answers."""
        with open(self.accepted_path, "rb") as f:
            f.seek(self.accepted_offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.accepted_offset += end
        for line in data[:end].decode().splitlines():
            name, webhook_id, at = line.split(" ")
            self.accepted[(name, webhook_id)] += 1
            self.accepted_at.setdefault((name, webhook_id), []).append(float(at))

    def api(self, method, path, body=None, instance=None):
        """The admin API of the first live instance (or the one given)."""
        candidates = [instance] if instance else self.instances
        last = None
        for inst in candidates:
            if inst.proc is None or inst.proc.poll() is not None:
                continue
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(f"http://127.0.0.1:{inst.port}{path}", data=data,
                                         method=method)
            req.add_header("Authorization", "Bearer " + self.token)
            if data:
                req.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode(errors="replace")
            except (OSError, urllib.error.URLError) as e:
                last = e
        raise RuntimeError(f"no instance answered {method} {path}: {last}")

    def create_endpoints(self):
        for name, spec in ENDPOINTS.items():
            body = {"url": f"http://127.0.0.1:{self.receiver_port}/hook/{name}",
                    "description": f"chaos {name}", **spec["filters"]}
            status, reply = self.api("POST", "/v1/endpoints", body, self.instances[0])
            if status != 201:
                raise RuntimeError(f"creating endpoint {name}: {status} {reply}")
            self.endpoint_ids[reply["id"]] = name

    def failed_pairs(self):
        """(endpoint name, event id) of every `failed` delivery, through the admin API."""
        out, cursor = set(), None
        while True:
            path = "/v1/deliveries?status=failed&limit=500" + (f"&cursor={cursor}" if cursor
                                                               else "")
            status, reply = self.api("GET", path)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {reply}")
            for d in reply["data"]:
                out.add((self.endpoint_ids.get(d["endpoint_id"], d["endpoint_id"]),
                         d["event_id"]))
            cursor = reply.get("next_cursor")
            if not cursor:
                return out

    # ---- takeover tracking -------------------------------------------------------------
    def snapshot_held(self, consumer):
        """Stream entries pending under `consumer` and the deliveries leased to it."""
        for attempt in range(100):  # Redis may be restarting; keep trying
            try:
                c = self.redis()
                try:
                    pending = c.command("XPENDING", STREAM, GROUP, "-", "+", 100000, consumer)
                    flat = c.command("ZRANGE", KEYS + "q:leases", 0, -1, "WITHSCORES")
                    tokens = [(t, float(e)) for t, e in zip(flat[::2], flat[1::2])
                              if t.startswith(consumer + ":")]
                    sets = c.pipeline([("SMEMBERS", KEYS + "lease:" + t) for t, _ in tokens]) \
                        if tokens else []
                finally:
                    c.close()
                now_ms = time.time() * 1000
                mine, stale = {}, 0
                for (token, expiry), members in zip(tokens, sets):
                    for member in members or []:
                        mine[member] = token
                        # Leases already past their expiry at the kill (left from before a
                        # Redis restart, say) are swept at the next claim, not after a lease
                        # period.
                        stale += expiry <= now_ms
                return [p[0] for p in pending or []], mine, stale
            except (OSError, RedisError):
                time.sleep(0.1)
        return [], {}, 0

    def track_takeovers(self):
        while not self.stopping.is_set():
            with self.lock:
                open_ones = [t for t in self.takeovers if t.open()]
            if open_ones:
                try:
                    c = self.redis()
                    try:
                        for t in open_ones:
                            self.check_takeover(c, t)
                    finally:
                        c.close()
                except (OSError, RedisError):
                    pass
            time.sleep(0.2)

    def check_takeover(self, c, t):
        elapsed = self.now() - t.t_kill
        entries = [e for e, v in t.entries.items() if v is None]
        replies = c.pipeline([("XPENDING", STREAM, GROUP, e, e, 1) for e in entries])
        for e, r in zip(entries, replies):
            if isinstance(r, RedisError):
                continue
            if not r or r[0][1] != t.consumer:
                t.entries[e] = elapsed
        held = [m for m, v in t.leases.items() if v[1] is None]
        replies = c.pipeline([("SISMEMBER", KEYS + "lease:" + t.leases[m][0], m) for m in held])
        for m, r in zip(held, replies):
            if not isinstance(r, RedisError) and r == 0:
                t.leases[m][1] = elapsed

    # ---- sampling and crash detection -------------------------------------------------
    def watch(self):
        while not self.stopping.is_set():
            for inst in self.instances:
                with self.lock:
                    inst.sample_rss()
                    p = inst.proc
                    if p is not None and p.poll() is not None and inst.lives[-1]["how"] is None:
                        inst.lives[-1].update(end=self.now(), how=f"exited {p.returncode}")
                        self.unexpected_exits.append({"slot": inst.slot, "pid": p.pid,
                                                      "code": p.returncode,
                                                      "at_s": round(self.now(), 2)})
                        log(f"instance {inst.slot} (pid {p.pid}) exited on its own with "
                            f"{p.returncode}; see {inst.log_path}; restarting it")
                        inst.start()
            time.sleep(0.5)

    # ---- the run -----------------------------------------------------------------------
    def kill_and_restart(self, inst):
        with self.lock:
            consumer = inst.consumer
            inst.kill()
            t_kill = self.now()
            self.disruptions.append(("kill", time.time(), 0.0))
        entries, leases, stale = self.snapshot_held(consumer)
        takeover = Takeover(inst.slot, consumer, t_kill, entries, leases)
        takeover.stale_leases = stale
        with self.lock:
            self.takeovers.append(takeover)
        log(f"killed instance {inst.slot} ({consumer}): it held {len(entries)} stream "
            f"entries and {len(leases)} leases")
        time.sleep(self.args.restart_delay)
        with self.lock:
            inst.start()
        if not inst.wait_healthy():
            log(f"instance {inst.slot} did not answer /healthz after its restart")

    def run(self):
        a = self.args
        self.start_redis()
        self.start_receiver()
        self.dispatcher_env = {
            "DISPATCHER_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DISPATCHER_ADMIN_TOKEN": self.token,
            "DISPATCHER_ALLOW_PRIVATE_TARGETS": "true",  # the receivers are on loopback
            "DISPATCHER_REQUEST_TIMEOUT": a.request_timeout,
            "DISPATCHER_RETRY_SCHEDULE": a.retry_schedule,
            # Stalls hold a slot for the whole request timeout; the default 16 per endpoint
            # would turn a few stalls a second into a backlog that never drains in the run.
            "DISPATCHER_ENDPOINT_CONCURRENCY": str(a.endpoint_concurrency),
            "DISPATCHER_SHUTDOWN_TIMEOUT": "5s",
            # "flaky" fails 70% of attempts, so 20 failures in a row (the breaker's default)
            # come a few times a run. With the default 30 s between probes, a circuit that
            # opens near the end holds its deliveries past the drain (probes fail 70% of the
            # time too): they are waiting, not lost, but the run cannot tell. Probing every
            # second keeps the breaker in play and lets the drain see them through.
            "DISPATCHER_BREAKER_PROBE": "1s",
        }
        self.instances = [Instance(self, "a", f"chaos-a-{self.run_id}"),
                          Instance(self, "b", None), Instance(self, "c", None)]
        for inst in self.instances:
            inst.start()
        for inst in self.instances:
            if not inst.wait_healthy():
                raise RuntimeError(f"instance {inst.slot} did not start; see {inst.log_path}")
        self.create_endpoints()
        # Let every instance's registry (refreshed every 250 ms) see the endpoints: this
        # test is about crashes, not about issue 8's item 2.
        time.sleep(1.0)

        threading.Thread(target=self.watch, daemon=True).start()
        threading.Thread(target=self.track_takeovers, daemon=True).start()
        duration = a.minutes * 60
        publisher = Publisher(self.redis_port, a.rate, self.run_id)
        self.t0 = time.monotonic()
        publisher.start()
        log(f"publishing {a.rate} events/s for {duration:.0f} s; an instance is killed every "
            f"{a.kill_every} s; redis-server is killed at {a.redis_restart_at:.0f} s; "
            f"logs in {self.tmp}")
        kills, redis_done, next_kill = 0, False, a.kill_every
        while self.now() < duration:
            if not redis_done and self.now() >= a.redis_restart_at:
                self.restart_redis()
                redis_done = True
                # A long AOF replay must not bunch the next kills together.
                next_kill = max(next_kill, self.now() + a.kill_every / 2)
            elif self.now() >= next_kill:
                self.kill_and_restart(self.instances[kills % 3])
                kills += 1
                next_kill += a.kill_every
            time.sleep(0.05)
        publisher.stop_event.set()
        publisher.join(timeout=60)
        log(f"published {len(publisher.acked)} events; draining (at most {a.drain} s)")

        expected = {(ep, f"chaos-{self.run_id}-{n}") for n in publisher.acked
                    for ep in ENDPOINTS if matches(ep, n)}
        drain_start = time.monotonic()
        failed = set()
        while True:
            self.read_accepted()
            try:
                failed = self.failed_pairs()
            except RuntimeError as e:
                log(str(e))
            outstanding = len(expected - self.accepted.keys() - failed)
            if outstanding == 0 or time.monotonic() - drain_start > a.drain:
                break
            log(f"  {outstanding} deliveries outstanding")
            time.sleep(2)
        drain_s = time.monotonic() - drain_start
        with self.lock:
            open_takeovers = [t for t in self.takeovers if t.open()]
        if open_takeovers:  # one last look before the verdict
            c = self.redis()
            for t in open_takeovers:
                self.check_takeover(c, t)
            c.close()

        lost = sorted(expected - self.accepted.keys() - failed)
        diagnostics = [self.diagnose(ep, eid) for ep, eid in lost[:10]]
        stream_state = self.stream_state()
        self.stopping.set()
        for inst in self.instances:
            inst.stop()
        self.receiver.send_signal(signal.SIGTERM)
        self.receiver.wait(timeout=30)
        self.read_accepted()
        self.redis_proc.send_signal(signal.SIGTERM)
        self.redis_proc.wait(timeout=30)
        with open(self.receiver_stats_path) as f:
            receiver_stats = json.load(f)
        log_lines = self.log_summary()

        ok_pairs = expected & self.accepted.keys()
        dup = {k: v for k, v in self.accepted.items() if v > 1 and k in expected}
        dup_causes = collections.Counter(self.explain_duplicate(k) for k in dup)
        takeovers = [t.summary() for t in self.takeovers]
        longest = max(takeovers, key=lambda t: t["takeover_s"], default=None)
        lost_final = sorted(expected - self.accepted.keys() - failed)
        result = {
            "minutes": a.minutes, "rate": a.rate, "kill_every_s": a.kill_every,
            "request_timeout": a.request_timeout, "retry_schedule": a.retry_schedule,
            "published": len(publisher.acked), "publish_resent": len(publisher.resent),
            "publish_errors": dict(publisher.errors),
            "expected_deliveries": len(expected),
            "succeeded": len(ok_pairs),
            "failed": len(failed & expected - ok_pairs),
            "failed_after_a_2xx": len(failed & ok_pairs),
            "lost": len(lost_final), "lost_examples": diagnostics,
            "duplicate_ids": len(dup), "duplicate_extra_2xx": sum(v - 1 for v in dup.values()),
            "duplicate_causes": dict(dup_causes),
            "unexpected_2xx": sum(1 for k in self.accepted if k not in expected),
            "drain_s": round(drain_s, 1),
            "kills": len(self.takeovers), "takeovers": takeovers,
            "longest_takeover": longest,
            "longest_entries_takeover_s": max((t["entries_s"] for t in takeovers), default=0),
            "longest_leases_takeover_s": max((t["leases_s"] for t in takeovers), default=0),
            "median_takeover_s": statistics.median([t["takeover_s"] for t in takeovers])
            if takeovers else None,
            "unresolved_takeover_items": sum(t["unresolved"] for t in takeovers),
            "redis_restarts": self.redis_events,
            "unexpected_exits": self.unexpected_exits, "bad_stops": self.bad_stops,
            "peak_rss_mb": {i.slot: round(i.peak_rss_mb(), 1) for i in self.instances},
            "lives": {i.slot: i.lives for i in self.instances},
            "receiver": receiver_stats, "dispatcher_warnings_and_errors": log_lines, "stream_at_end": stream_state,
            "new_consumer_restarts": sum(1 for i in self.instances[1:]
                                         for _ in i.lives[1:]),
            "same_consumer_restarts": len(self.instances[0].lives) - 1,
            "loadavg_at_end": os.getloadavg(),
            "tmp": self.tmp,
        }
        with open(os.path.join(self.tmp, "chaos-results.json"), "w") as f:
            json.dump(result, f, indent=1)
        return result

    def explain_duplicate(self, pair):
        """The disruption that explains a second 2xx: an instance killed within 10 s after
        the first 2xx (before its attempt was recorded; up to 1 s before it, as the receiver
        may log an answer the dead instance never read), or Redis down then (the record
        could not be written). Anything else is "unexplained" and worth a look."""
        first = self.accepted_at[pair][0]
        for kind, at, down in self.disruptions:
            if at - 10 <= first <= at + down + (1 if kind == "kill" else 2):
                return "instance killed" if kind == "kill" else "redis restarted"
        return "unexplained"

    def diagnose(self, endpoint, event_id):
        """What the service says about a lost delivery: its event and its deliveries."""
        try:
            status, reply = self.api("GET", f"/v1/events/{event_id}")
        except RuntimeError as e:
            return {"endpoint": endpoint, "event_id": event_id, "api": str(e)}
        if status != 200:
            return {"endpoint": endpoint, "event_id": event_id, "status": status}
        deliveries = [{k: d.get(k) for k in ("endpoint_id", "status", "attempt_count",
                                             "last_status_code", "last_error",
                                             "next_attempt_at")}
                      for d in reply.get("deliveries", [])]
        return {"endpoint": endpoint, "event_id": event_id,
                "received_at": reply.get("received_at"), "deliveries": deliveries}

    def log_summary(self):
        """How often each warn and error message appeared in the instances' logs."""
        counts = collections.Counter()
        for inst in self.instances:
            with open(inst.log_path, errors="replace") as f:
                for line in f:
                    if line.startswith("--- chaos:"):
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        counts["(not JSON) " + line.strip()[:120]] += 1
                        continue
                    if entry.get("level") in ("warn", "error"):
                        counts[f"{entry['level']}: {entry.get('msg')}"] += 1
        return dict(counts.most_common())

    def stream_state(self):
        try:
            c = self.redis()
            try:
                groups = c.command("XINFO", "GROUPS", STREAM)
                fields = dict(zip(groups[0][::2], groups[0][1::2])) if groups else {}
                consumers = c.command("XINFO", "CONSUMERS", STREAM, GROUP)
                return {"group_pending": fields.get("pending"), "group_lag": fields.get("lag"),
                        "consumers": len(consumers or []),
                        "leases": c.command("ZCARD", "q:leases"),
                        "stream_length": c.command("XLEN", STREAM),
                        "dead_letters": c.command("XLEN", STREAM + ":dead")}
            finally:
                c.close()
        except (OSError, RedisError) as e:
            return {"error": str(e)}

    def cleanup(self):
        self.stopping.set()
        for inst in self.instances:
            if inst.proc and inst.proc.poll() is None:
                inst.proc.kill()
                inst.proc.wait()
        for p in (self.receiver, self.redis_proc):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def table(r):
    lt = r["longest_takeover"]
    rows = [
        ("duration / publish rate", f"{r['minutes']:g} min / {r['rate']} events/s"),
        ("events published", f"{r['published']:,} ({r['publish_resent']} XADDs resent "
                             "after no answer)"),
        ("deliveries expected (event x matching endpoint)", f"{r['expected_deliveries']:,}"),
        ("succeeded (unique webhook-ids with a 2xx)", f"{r['succeeded']:,}"),
        ("failed (retries exhausted, never a 2xx)", f"{r['failed']:,}"),
        ("lost (no 2xx, not failed)", f"{r['lost']}"),
        ("duplicates (ids with more than one 2xx)",
         f"{r['duplicate_ids']} ids, {r['duplicate_extra_2xx']} extra 2xx"),
        ("duplicates by cause", ", ".join(f"{k}: {v}" for k, v in r["duplicate_causes"].items())
         or "-"),
        ("failed although a 2xx was received", f"{r['failed_after_a_2xx']}"),
        ("kills (SIGKILL) / new consumer names",
         f"{r['kills']} / {r['new_consumer_restarts']} of {r['kills']} restarts"),
        ("longest takeover", f"{lt['takeover_s']:.1f} s (instance {lt['slot']}: "
                             f"{lt['stream_entries']} entries, {lt['leases']} leases)"
         if lt else "-"),
        ("longest takeover of stream entries / of leases",
         f"{r['longest_entries_takeover_s']:.1f} s / {r['longest_leases_takeover_s']:.1f} s"),
        ("median takeover", f"{r['median_takeover_s']:.1f} s"
         if r["median_takeover_s"] is not None else "-"),
        ("items never taken over", f"{r['unresolved_takeover_items']}"),
        ("redis-server SIGKILL + restart on AOF",
         ", ".join(f"at {e['killed_at_s']:.0f} s, back in {e['back_after_s']:.1f} s "
                   f"(AOF replay {e['aof_replay_s']} s)"
                   for e in r["redis_restarts"]) or "none"),
        ("instances that exited on their own", f"{len(r['unexpected_exits'])}"),
        ("bodies changed between attempts / body id != webhook-id",
         f"{r['receiver']['body_changed_between_attempts']} / {r['receiver']['id_mismatch']}"),
        ("peak RSS a / b / c (MB)", " / ".join(f"{v:.1f}" for v in r["peak_rss_mb"].values())),
        ("drain after publishing stopped", f"{r['drain_s']:.1f} s"),
        ("machine load at the end (1-min load average, 2 cores)",
         f"{r['loadavg_at_end'][0]:.1f}"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'metric'.ljust(width)} | value |", f"|{'-' * (width + 2)}|---|"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True, help="the dispatcher executable")
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--rate", type=int, default=200, help="events published per second")
    ap.add_argument("--kill-every", type=float, default=20.0)
    ap.add_argument("--restart-delay", type=float, default=1.0,
                    help="seconds between a kill and the restart")
    ap.add_argument("--redis-restart-at", type=float, default=None,
                    help="seconds into the run (default: half way, between two kills)")
    ap.add_argument("--drain", type=float, default=120.0, help="bound on the drain, seconds")
    ap.add_argument("--request-timeout", default="2s")
    ap.add_argument("--retry-schedule", default="200ms,500ms,1s,2s,2s,2s,2s")
    ap.add_argument("--endpoint-concurrency", type=int, default=64)
    ap.add_argument("--keep-tmp", action="store_true", help="keep logs even when nothing failed")
    ap.add_argument("--out", default="chaos-results.json", help="where the results go")
    args = ap.parse_args()
    if not args.request_timeout.endswith("s") or args.request_timeout.endswith("ms"):
        ap.error("--request-timeout must be whole or fractional seconds, e.g. 2s")
    args.request_timeout_s = float(args.request_timeout[:-1])
    if args.redis_restart_at is None:
        half = args.minutes * 60 / 2
        args.redis_restart_at = (half // args.kill_every) * args.kill_every + args.kill_every / 2

    chaos = Chaos(args)
    try:
        r = chaos.run()
    except BaseException:
        chaos.cleanup()
        log(f"aborted; logs kept in {chaos.tmp}")
        raise
    print(table(r))
    for d in r["lost_examples"]:
        print("lost:", json.dumps(d))
    for e in r["unexpected_exits"]:
        print("exited on its own:", json.dumps(e))
    for e in r["bad_stops"]:
        print("did not exit 0 after SIGTERM:", json.dumps(e))
    for msg, count in r["dispatcher_warnings_and_errors"].items():
        print(f"log {count:6d}  {msg}")
    bad = r["lost"] > 0 or r["unexpected_exits"] or r["bad_stops"]
    shutil.copy(os.path.join(chaos.tmp, "chaos-results.json"), args.out)
    if bad or args.keep_tmp:
        print(f"{args.out} written; logs kept in {chaos.tmp}")
    else:
        shutil.rmtree(chaos.tmp, ignore_errors=True)
        print(f"{args.out} written")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
