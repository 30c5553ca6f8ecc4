"""The processes a bench run drives, and the clients it talks to them with.

One private redis-server and one bench_sink live for the whole run; a dispatcher (or the
BullMQ peer's worker) is started fresh per phase step. Everything is on loopback, on ports
the kernel picks. Phases (phases.py) ask the rig for numbers; they never spawn or parse.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from . import redis_replies


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except (OSError, subprocess.CalledProcessError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def stop(proc, timeout=30, what="process"):
    """SIGTERM, then SIGKILL after `timeout` s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"{what} ignored SIGTERM for {timeout} s; killing it")
        proc.kill()
        proc.wait()


class Rig:
    def __init__(self, settings, tmp, token):
        self.s = settings
        self.tmp = tmp
        self.token = token
        self.procs = []
        self.dispatcher = None
        self.dispatcher_port = None
        self.dispatcher_log = None

    def tool(self, name):
        return os.path.join(self.s.build_dir, "bench", name)

    def spawn(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self.procs.append(p)
        return p

    def forget(self, proc):
        self.procs.remove(proc)

    def cleanup(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # ---- Redis ---------------------------------------------------------------------
    def start_redis(self):
        self.redis_port = free_port()
        self.redis = self.spawn(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             # AOF as production runs it (REDIS_AOF=0: none); RDB snapshots off either way.
             "--save", "", "--appendonly", "yes" if self.s.redis_aof else "no",
             "--appendfsync", "everysec", "--dir", self.tmp,
             "--slowlog-log-slower-than", "1000", "--slowlog-max-len", "100000",
             "--logfile", os.path.join(self.tmp, "redis.log")],
            stdout=subprocess.DEVNULL)
        wait_for(lambda: self.redis_cli("PING") == "PONG", 10, "redis-server")

    def redis_cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.redis_port), *map(str, args)],
                              capture_output=True, text=True, check=True).stdout.strip()

    def redis_command(self, *args):
        """One command over RESP, for the replies redis-cli would flatten."""
        with socket.create_connection(("127.0.0.1", self.redis_port)) as sock:
            sock.sendall(redis_replies.encode_command(*args))
            return redis_replies.read_reply(sock.makefile("rb"))

    def redis_info(self, section):
        return redis_replies.parse_info(self.redis_cli("INFO", section))

    def redis_used_memory_mb(self):
        used = self.redis_info("memory").get("used_memory")
        return int(used) / 2**20 if used is not None else None

    def redis_data_bytes(self):
        return redis_replies.data_bytes(self.redis_info("memory"))

    def key_bytes(self, key):
        """MEMORY USAGE of a key, every element counted; 0 when it does not exist."""
        return self.redis_command("MEMORY", "USAGE", key, "SAMPLES", "0") or 0

    def stream_entries_read(self):
        return redis_replies.entries_read(self.redis_command("XINFO", "GROUPS", self.s.stream))

    def redis_slowlog(self):
        """Commands of 1 ms or more since SLOWLOG RESET."""
        return redis_replies.summarize_slowlog(self.redis_command("SLOWLOG", "GET", "100000"))

    def redis_commandstats(self):
        """[(command, {calls, usec}), ...] since the last CONFIG RESETSTAT, costliest first."""
        return redis_replies.parse_commandstats(self.redis_cli("INFO", "commandstats"))

    def fresh(self):
        """Redis and the sink as new, before each phase step."""
        self.redis_cli("FLUSHALL")
        # Before the dispatcher starts: freeing a long slow log stalls Redis for a while.
        self.redis_cli("SLOWLOG", "RESET")
        self.redis_cli("CONFIG", "RESETSTAT")
        self.sink_reset()

    # ---- perf ----------------------------------------------------------------------
    def start_perf(self, pid, label):
        """PERF=1: call-graph profiles of the dispatcher and redis-server for this phase."""
        procs = []
        for name, target in (("dispatcher", pid), ("redis", self.redis.pid)):
            data = os.path.join(self.tmp, f"perf-{name}-{label}.data")
            procs.append(subprocess.Popen(
                ["perf", "record", "-g", "-F", "499", "-p", str(target), "-o", data],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            log(f"profiling {name} into {data}")
        time.sleep(0.5)  # perf needs a moment to attach
        return procs

    @staticmethod
    def stop_perf(procs):
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait()

    # ---- the sink ------------------------------------------------------------------
    def start_sink(self):
        port_file = os.path.join(self.tmp, "sink.port")
        self.sink = self.spawn([self.tool("bench_sink"), "--port-file", port_file],
                               stdout=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(port_file), 10, "bench_sink")
        with open(port_file) as f:
            self.sink_port = int(f.read())

    def sink_url(self, path):
        return f"http://127.0.0.1:{self.sink_port}{path}"

    def sink_stats(self):
        return http("GET", self.sink_url("/stats"))[1]

    def sink_latency(self):
        return http("GET", self.sink_url("/latency"))[1]

    def sink_samples(self):
        """Every latency sample (µs, arrival order), as the sink's text."""
        with urllib.request.urlopen(self.sink_url("/samples")) as r:
            return r.read()

    def sink_reset(self):
        http("POST", self.sink_url("/reset"))

    def wait_delivered(self, expected, on_sample=None, interval=0.1):
        """Polls the sink until it counted `expected` requests or made no progress for
        STALL_SECONDS; returns the last stats."""
        last_count, last_change = -1, time.monotonic()
        while True:
            stats = self.sink_stats()
            if on_sample:
                on_sample(stats)
            if stats["requests"] >= expected:
                return stats
            if stats["requests"] != last_count:
                last_count, last_change = stats["requests"], time.monotonic()
            elif time.monotonic() - last_change > self.s.stall_seconds:
                log(f"no progress for {self.s.stall_seconds} s: {stats['requests']}/{expected}")
                return stats
            time.sleep(interval)

    # ---- the dispatcher ------------------------------------------------------------
    def start_dispatcher(self, label):
        """A fresh `dispatcher serve` on this Redis; every DISPATCHER_* variable of our
        environment reaches it, ours override four. Returns its pid once ready."""
        self.dispatcher_port = free_port()
        env = dict(os.environ)
        env.update({
            "DISPATCHER_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DISPATCHER_LISTEN": f"127.0.0.1:{self.dispatcher_port}",
            "DISPATCHER_ADMIN_TOKEN": self.token,
            "DISPATCHER_ALLOW_PRIVATE_TARGETS": "true",  # the sink is on loopback
        })
        self.dispatcher_log = open(os.path.join(self.tmp, f"dispatcher-{label}.log"), "ab")
        self.dispatcher = self.spawn([os.path.join(self.s.build_dir, "dispatcher"), "serve"],
                                     env=env, stdout=self.dispatcher_log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.admin("GET", "/readyz")[0] == 200, 15, "dispatcher /readyz")
        return self.dispatcher.pid

    def stop_dispatcher(self):
        """SIGTERM drains: in-flight deliveries are recorded before the process exits."""
        p, self.dispatcher = self.dispatcher, None
        if p is None:
            return
        stop(p, what="dispatcher")
        self.forget(p)
        self.dispatcher_log.close()

    def admin(self, method, path, body=None):
        return http(method, f"http://127.0.0.1:{self.dispatcher_port}{path}", body, self.token)

    def register_endpoints(self, count):
        for i in range(count):
            body = {"url": self.sink_url(f"/hook/{i}"), "events": ["account.connection.*"]}
            if self.s.ordering:
                body["ordering"] = self.s.ordering
            status, reply = self.admin("POST", "/v1/endpoints", body)
            if status != 201:
                raise RuntimeError(f"creating endpoint {i}: {status} {reply}")

    def publish(self, *args):
        """bench_publisher's JSON summary (start_ns, sent, rate)."""
        out = subprocess.run(
            [self.tool("bench_publisher"), "--port", str(self.redis_port), "--stream",
             self.s.stream, "--size", str(self.s.payload_size), *map(str, args)],
            capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"bench_publisher failed: {out.stderr.strip()}")
        return json.loads(out.stdout)
