#!/usr/bin/env python3
"""Benchmarks the dispatcher end to end on this machine and writes bench-results.json.

scripts/bench runs this under Debian's python3 (standard library only). This file does the
build, the machine's description and the run loop; bench/harness holds the rest: phases
(one function a phase), rig (the processes and their clients), and the pure parts, tested
by tests/bench without a bench run: settings (the knobs below), procfs (/proc CPU and
memory accounting, the "disturbed" flag), redis_replies, figures (a phase's numbers into
its JSON) and report (medians, targets, the table, the results file).

Builds Release into build-bench/ (its own directory, tests off), starts a private
redis-server (AOF on, appendfsync everysec, as production runs it; no RDB) and bench_sink
(the receiver), then, RUNS times:

  wrk         the sink's ceiling: wrk POSTing bodies of the events' size
  throughput  for 1, 10 and 100 endpoints (all on the sink), a fresh `dispatcher serve`,
              a closed-loop burst from bench_publisher; deliveries/s as the sink saw them
              (publish start to last receipt), dispatcher and Redis CPU µs per delivery,
              the dispatcher's peak RSS (VmHWM)
  peer        the same work by a BullMQ worker (bench/peer/peer.js: HMAC signing, keep-alive
              POST to the same sink, job history kept), PEER_JOBS jobs added in bulk by its
              producer while the worker runs; jobs/s as the sink saw them, Redis and worker
              CPU µs per job, Redis bytes per retained job
  latency     open loop at LATENCY_RATE events/s for LATENCY_SECONDS, each event to
              LATENCY_ENDPOINTS endpoints (2: the issue's fan-out): publish-to-receipt
              p50/p99/p99.9 measured by the sink
  memory      (first run only: it does not depend on load) MEMORY_EVENTS_1 events to 1
              endpoint and MEMORY_EVENTS_100 to 100, drained, the dispatcher stopped; Redis
              memory grown (INFO memory, less clients, the AOF buffer and the input stream's
              own MEMORY USAGE) per retained delivery, and per extra endpoint
  backlog     BACKLOG_EVENTS published while the dispatcher is stopped, then drained;
              RSS sampled every 0.5 s

Redis is flushed before every phase, so phases and runs are independent. The table shows
medians over runs and the targets as ratios within the same run (dispatcher vs wrk and vs
the peer: per-run ratios, then their median); bench-results.json holds every run, the
medians and the targets. Each phase also records how many cores other processes kept busy
(other_load_cores): on two cores a compile elsewhere moves every figure, and the log flags
such phases.

Environment (defaults in brackets; QUICK=1 shrinks the sizes for a run of a few minutes):
  RUNS [3]  QUICK [0]  PHASES [wrk,throughput,peer,latency,memory,backlog]  ENDPOINTS [1,10,100]
  EVENTS_1 [200000]  EVENTS_10 [20000]  EVENTS_100 [2000]   (events; deliveries = x endpoints)
  PEER_JOBS [EVENTS_1]  PEER_CONCURRENCY [DISPATCHER_ENDPOINT_CONCURRENCY or 16]
  LATENCY_RATE [2000]  LATENCY_SECONDS [30]  LATENCY_ENDPOINTS [2]  (a list: 1,2 adds 1)
  MEMORY_EVENTS_1 [20000]  MEMORY_EVENTS_100 [2000]
  BACKLOG_EVENTS [500000]  PAYLOAD_SIZE [400]
  WRK_SECONDS [5]  WRK_CONNECTIONS [32]  STALL_SECONDS [30]  JOBS [2]  SKIP_BUILD [0]
  REDIS_AOF [1]  (0: no persistence, as the bench ran before issue 9)
  ORDERING []  (connection: endpoints order per connection; measures what ordering costs)
  BUILD_DIR [build-bench]  OUT [bench-results.json]
  KEEP_TMP [0]  (1: keep the temporary directory: logs, and each latency phase's samples)
  PERF [0]  (1: `perf record -g` the dispatcher and redis-server during each throughput
             phase into the temporary directory; use with KEEP_TMP=1 and `perf report -i`)
BACKLOG_EVENTS is 500k rather than the issue's 1M so that three full runs stay under 20
minutes on this machine (the drain runs at about 4k/s and Redis holds about 5 KB per event);
BACKLOG_EVENTS=1000000 RUNS=1 PHASES=backlog measures the full size.
Other DISPATCHER_* variables (e.g. DISPATCHER_ENDPOINT_CONCURRENCY) reach the dispatcher.
The peer needs node and npm (WITH_BENCH=1 scripts/setup); the bench runs `npm ci` in
bench/peer when its node_modules is missing.
"""

import base64
import json
import mmap
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import phases, report, settings
from harness.rig import Rig, log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER_DIR = os.path.join(ROOT, "bench", "peer")


def build(s):
    """Release into BUILD_DIR, tests off: only the three programs the phases run."""
    subprocess.run(["cmake", "-S", ROOT, "-B", s.build_dir, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release", "-DDISPATCHER_TESTS=OFF"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", s.build_dir, f"-j{s.jobs}", "dispatcher", "bench_sink",
                    "bench_publisher"], check=True, stdout=sys.stderr)


def prepare_peer():
    """The peer's packages, pinned by bench/peer/package-lock.json, installed into
    bench/peer/node_modules (git-ignored) when missing: nothing outside the bench needs them."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("bench: the peer phase needs node and npm: run "
                         "WITH_BENCH=1 scripts/setup, or leave peer out of PHASES")
    if not os.path.exists(os.path.join(PEER_DIR, "node_modules", "bullmq", "package.json")):
        log("installing the peer's packages (npm ci in bench/peer)")
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                       cwd=PEER_DIR, check=True, stdout=sys.stderr)


def package_version(name):
    try:
        with open(os.path.join(PEER_DIR, "node_modules", name, "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return None


def page_fault_us(mb=256):
    """Average cost of a first touch of an anonymous page: on this kind of VM it is an
    order of magnitude above bare metal, and it is what a growing Redis pays."""
    size = mb << 20
    m = mmap.mmap(-1, size)
    started = time.perf_counter()
    for offset in range(0, size, mmap.PAGESIZE):
        m[offset] = 1
    elapsed = time.perf_counter() - started
    m.close()
    return elapsed / (size // mmap.PAGESIZE) * 1e6


def machine_info():
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return None

    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    with open("/proc/meminfo") as f:
        mem_kb = next(int(l.split()[1]) for l in f if l.startswith("MemTotal"))
    dirty = bool(subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "dispatcher"],
                                capture_output=True, text=True).stdout.strip())
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem_kb // 1024,
        "kernel": platform.release(), "compiler": first_line(["c++", "--version"]),
        "redis": first_line(["redis-server", "--version"]),
        "wrk": first_line(["wrk", "--version"]),
        "node": first_line(["node", "--version"]),
        "bullmq": package_version("bullmq"), "ioredis": package_version("ioredis"),
        "git_commit": first_line(["git", "-C", ROOT, "rev-parse", "HEAD"]),
        "dispatcher_sources_modified": dirty,
        "page_fault_us": page_fault_us(),
    }


def main():
    try:
        s = settings.from_env(os.environ, ROOT)
    except ValueError as e:
        raise SystemExit(f"bench: {e}")
    if not s.skip_build:
        build(s)
    if s.has("peer"):
        prepare_peer()
    machine = machine_info()  # before the runs: the commit the binaries were built from
    tmp = tempfile.mkdtemp(prefix="dispatcher-bench-")
    rig = Rig(s, tmp, token="bench-" + os.urandom(12).hex())
    peer_secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.time()
    try:
        rig.start_redis()
        rig.start_sink()
        log(f"redis on {rig.redis_port}, sink on {rig.sink_port}, logs in {tmp}")
        runs = [phases.run_once(rig, s, i, PEER_DIR, peer_secret) for i in range(s.runs)]
    finally:
        rig.cleanup()
        if not s.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    result = report.document(
        machine=machine, started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        duration_s=round(time.time() - started, 1), settings=s,
        config=settings.config_json(s), runs=runs)
    with open(s.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print()
    print(report.render(report.table_rows(runs, result["medians"], s), result["targets"],
                        s.redis_aof), end="")
    print(f"\nwrote {os.path.relpath(s.out, ROOT)} ({result['duration_s']:.0f} s)")


if __name__ == "__main__":
    main()
