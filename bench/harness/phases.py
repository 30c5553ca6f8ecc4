"""The bench's phases, one function each: load the rig, sample counters around the load,
and hand the numbers to figures.py. Each returns the object the results file keeps under
the phase's name in a run, and logs one line of it.

The order of a run is fixed (PHASES selects, it does not reorder), and Redis and the sink
are reset before every step, so phases and runs do not depend on each other.
"""

import json
import os
import subprocess
import time

from . import figures, procfs
from .procfs import cpu_seconds, minor_faults, status_kb, tree_cpu_seconds
from .redis_replies import us_per
from .rig import log, stop, wait_for

PEER_QUEUE = "peer"


def wrk(rig, s):
    """The sink's ceiling: wrk POSTing bodies of the events' size."""
    script = os.path.join(rig.tmp, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\n'
                f"wrk.body = '{figures.wrk_body(s.payload_size)}'\n"
                'wrk.headers["Content-Type"] = "application/json"\n')
    rig.sink_reset()
    # wrk is the only child this process waits for meanwhile: its CPU is the difference.
    before = os.times()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{s.wrk_connections}", f"-d{s.wrk_seconds}s", "--latency", "-s",
         script, rig.sink_url("/hook/wrk")],
        capture_output=True, text=True, check=True).stdout
    after = os.times()
    rps, p99 = figures.parse_wrk(out)
    counted = rig.sink_stats()["requests"]
    rig.sink_reset()
    r = figures.wrk(requests_per_s=rps, latency_p99=p99, sink_counted=counted,
                    cpu_s=(after.children_user - before.children_user)
                    + (after.children_system - before.children_system))
    log(f"wrk: {rps:,.0f} requests/s (p99 {p99}), sink counted {counted}, wrk's CPU "
        f"{r['cpu_us_per_request'] or 0:.1f} µs/request")
    return r


def throughput(rig, s, endpoints):
    """A closed-loop burst of EVENTS_<endpoints> events to `endpoints` endpoints."""
    events = s.events[endpoints]
    rig.fresh()
    pid = rig.start_dispatcher(f"throughput-{endpoints}")
    rig.register_endpoints(endpoints)
    perf = rig.start_perf(pid, f"x{endpoints}") if s.perf else []
    redis = rig.redis.pid
    others = procfs.OtherLoad([pid, redis, rig.sink.pid])
    cpu0, redis_cpu0 = cpu_seconds(pid), cpu_seconds(redis)
    redis_tree0 = tree_cpu_seconds(redis)
    faults0, redis_faults0 = minor_faults(pid), minor_faults(redis)
    pub = rig.publish("--count", events)
    stats = rig.wait_delivered(events * endpoints)
    cpu1, redis_cpu1 = cpu_seconds(pid), cpu_seconds(redis)
    redis_tree1 = tree_cpu_seconds(redis)
    faults1, redis_faults1 = minor_faults(pid), minor_faults(redis)
    other_cores = others.cores()
    rig.stop_perf(perf)
    commands = rig.redis_commandstats()
    hwm_mb = status_kb(pid, "VmHWM") / 1024
    rig.stop_dispatcher()
    r = figures.throughput(
        endpoints=endpoints, events=events, publisher=pub, sink=stats, cpu_s=cpu1 - cpu0,
        redis_cpu_s=redis_cpu1 - redis_cpu0, redis_tree_cpu_s=redis_tree1 - redis_tree0,
        faults=faults1 - faults0, redis_faults=redis_faults1 - redis_faults0, peak_rss_mb=hwm_mb,
        other_cores=other_cores, commands=us_per(commands, stats["requests"]))
    log(f"throughput x{endpoints}: {r['deliveries_per_s'] or 0:,.0f} deliveries/s "
        f"({r['delivered']}/{r['expected_deliveries']} in {r['elapsed_s']:.2f} s), "
        f"cpu {r['cpu_us_per_delivery'] or 0:.1f} µs/delivery, redis cpu "
        f"{r['redis_cpu_us_per_delivery'] or 0:.1f} µs/delivery "
        f"({r['redis_cpu_with_forks_us_per_delivery'] or 0:.1f} with its AOF rewrites), "
        f"peak RSS {hwm_mb:.1f} MB{procfs.disturbed_note(other_cores)}")
    return r


def peer(rig, s, peer_dir, secret):
    """The BullMQ peer on the same sink and Redis: a worker started first and left ready,
    then its producer adds PEER_JOBS jobs in bulk; measured like throughput (producer start
    to the sink's last receipt, CPU over that span)."""
    jobs = s.peer_jobs
    rig.fresh()
    ready = os.path.join(rig.tmp, "peer.ready")
    if os.path.exists(ready):
        os.remove(ready)
    worker_log = open(os.path.join(rig.tmp, "peer-worker.log"), "ab")
    worker = rig.spawn(
        ["node", os.path.join(peer_dir, "peer.js"), "work", "--port", str(rig.redis_port),
         "--queue", PEER_QUEUE, "--url", rig.sink_url("/hook/peer"),
         "--concurrency", str(s.peer_concurrency), "--ready-file", ready],
        env={**os.environ, "PEER_SECRET": secret}, stdout=worker_log,
        stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(ready) or worker.poll() is not None, 30,
                 "the peer worker")
        if worker.poll() is not None:
            raise RuntimeError(f"the peer worker exited with {worker.returncode}; "
                               f"see {worker_log.name}")
        redis = rig.redis.pid
        memory0 = rig.redis_data_bytes()
        others = procfs.OtherLoad([worker.pid, redis, rig.sink.pid])
        cpu0, redis_cpu0 = cpu_seconds(worker.pid), cpu_seconds(redis)
        redis_tree0 = tree_cpu_seconds(redis)
        pub = peer_produce(rig, s, peer_dir, jobs)
        stats = rig.wait_delivered(jobs)
        cpu1, redis_cpu1 = cpu_seconds(worker.pid), cpu_seconds(redis)
        redis_tree1 = tree_cpu_seconds(redis)
        other_cores = others.cores()
        hwm_mb = status_kb(worker.pid, "VmHWM") / 1024
        # The sink sees the POST before the worker records the job as completed; the
        # memory figure is read once every job's record is written.
        completed_key = f"bull:{PEER_QUEUE}:completed"
        try:
            wait_for(lambda: int(rig.redis_cli("ZCARD", completed_key)) >= stats["requests"],
                     30, "the peer's completed jobs")
        except RuntimeError as e:
            log(str(e))
        completed = int(rig.redis_cli("ZCARD", completed_key))
        memory1 = rig.redis_data_bytes()
        commands = rig.redis_commandstats()
    finally:
        stop(worker, what="the peer worker")
        rig.forget(worker)
        worker_log.close()
    r = figures.peer(
        jobs=jobs, concurrency=s.peer_concurrency, producer=pub, sink=stats,
        completed=completed, cpu_s=cpu1 - cpu0, redis_cpu_s=redis_cpu1 - redis_cpu0,
        redis_tree_cpu_s=redis_tree1 - redis_tree0, memory_grown=memory1 - memory0, peak_rss_mb=hwm_mb, other_cores=other_cores,
        commands=us_per(commands, stats["requests"]))
    log(f"peer (BullMQ, concurrency {s.peer_concurrency}): {r['jobs_per_s'] or 0:,.0f} jobs/s "
        f"({r['delivered']}/{jobs} in {r['elapsed_s']:.2f} s, {completed} completed in Redis), "
        f"worker cpu {r['worker_cpu_us_per_job'] or 0:.1f} µs/job, redis cpu "
        f"{r['redis_cpu_us_per_job'] or 0:.1f} µs/job "
        f"({r['redis_cpu_with_forks_us_per_job'] or 0:.1f} with its AOF rewrites), redis "
        f"{r['redis_bytes_per_job'] or 0:,.0f} B/job{procfs.disturbed_note(other_cores)}")
    return r


def peer_produce(rig, s, peer_dir, count):
    out = subprocess.run(
        ["node", os.path.join(peer_dir, "peer.js"), "produce", "--port", str(rig.redis_port),
         "--queue", PEER_QUEUE, "--count", str(count), "--size", str(s.payload_size)],
        capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"peer producer failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def latency(rig, s, endpoints):
    """Open loop at LATENCY_RATE events/s for LATENCY_SECONDS, each event to `endpoints`
    endpoints: the sink's percentiles are over all their deliveries."""
    expected = s.latency_rate * s.latency_seconds * endpoints
    rig.fresh()
    pid = rig.start_dispatcher(f"latency-{endpoints}")
    rig.register_endpoints(endpoints)
    redis = rig.redis.pid
    others = procfs.OtherLoad([pid, redis, rig.sink.pid])
    redis_faults0 = minor_faults(redis)
    cpu0, redis_cpu0 = cpu_seconds(pid), cpu_seconds(redis)
    pub = rig.publish("--rate", s.latency_rate, "--duration", s.latency_seconds)
    rig.wait_delivered(expected)
    cpu1, redis_cpu1 = cpu_seconds(pid), cpu_seconds(redis)
    other_cores = others.cores()
    redis_faults = minor_faults(redis) - redis_faults0
    slow = rig.redis_slowlog()
    commands = rig.redis_commandstats()
    stats = rig.sink_latency()
    if s.keep_tmp:  # every sample, in arrival order, to look at stalls over time
        path = os.path.join(rig.tmp, f"latency-samples-{time.strftime('%H%M%S')}.txt")
        with open(path, "wb") as f:
            f.write(rig.sink_samples())
        log(f"latency samples (us, arrival order) in {path}")
    hwm_mb = status_kb(pid, "VmHWM") / 1024
    rig.stop_dispatcher()
    r = figures.latency(
        rate=s.latency_rate, seconds=s.latency_seconds, endpoints=endpoints, publisher=pub,
        sink=stats, cpu_s=cpu1 - cpu0, redis_cpu_s=redis_cpu1 - redis_cpu0,
        redis_faults=redis_faults, peak_rss_mb=hwm_mb, slow=slow,
        commands=us_per(commands, expected), other_cores=other_cores)
    log(f"latency at {s.latency_rate} events/s x {endpoints} endpoint(s): p50 "
        f"{r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, p99.9 {r['p999_ms']:.2f} ms, max "
        f"{r['max_ms']:.2f} ms ({stats['requests']}/{expected})"
        f"{procfs.disturbed_note(other_cores)}")
    return r


def memory(rig, s):
    """Redis memory per retained delivery: what the dispatcher keeps once deliveries are
    done (event, delivery and attempt records, indexes), without the input stream."""
    steps = {}
    for endpoints, events in sorted(s.memory_events.items()):
        rig.fresh()
        rig.start_dispatcher(f"memory-{endpoints}")
        rig.register_endpoints(endpoints)
        before, stream_before = rig.redis_data_bytes(), rig.key_bytes(s.stream)
        rig.publish("--count", events)
        stats = rig.wait_delivered(events * endpoints)
        rig.stop_dispatcher()  # it records what is in flight before it exits
        after, stream_after = rig.redis_data_bytes(), rig.key_bytes(s.stream)
        step = figures.memory_step(
            events=events, endpoints=endpoints, received=stats["requests"], before=before,
            stream_before=stream_before, after=after, stream_after=stream_after)
        steps[endpoints] = step
        log(f"memory x{endpoints}: {step['retained_bytes'] / 2**20:.1f} MB retained for "
            f"{step['deliveries']} deliveries: {step['bytes_per_delivery'] or 0:,.0f} B per "
            f"delivery (stream {stream_after / 2**20:.1f} MB left out)")
    r = figures.memory(s.payload_size, steps)
    if "bytes_per_extra_endpoint" in r:
        log(f"memory: {r['bytes_per_extra_endpoint']:,.0f} B per extra endpoint "
            f"(payload {s.payload_size} B)")
    return r


def backlog(rig, s):
    """BACKLOG_EVENTS published while the dispatcher is stopped, then drained; RSS and the
    group's read position sampled every 0.5 s."""
    events = s.backlog_events
    rig.fresh()
    rig.start_dispatcher("backlog-setup")
    rig.register_endpoints(1)
    rig.stop_dispatcher()
    pub = rig.publish("--count", events)
    redis_mb_before = rig.redis_used_memory_mb()
    started = time.monotonic()
    pid = rig.start_dispatcher("backlog")
    others = procfs.OtherLoad([pid, rig.redis.pid, rig.sink.pid])
    samples = []  # (seconds since start, delivered, RSS MB, stream entries read)

    def sample(stats, final=False):
        if final or not samples or time.monotonic() - started - samples[-1][0] >= 0.5:
            samples.append((time.monotonic() - started, stats["requests"],
                            status_kb(pid, "VmRSS") / 1024, rig.stream_entries_read()))

    stats = rig.wait_delivered(events, on_sample=sample, interval=0.05)
    sample(stats, final=True)
    drain_s = time.monotonic() - started
    other_cores = others.cores()
    hwm_mb = status_kb(pid, "VmHWM") / 1024
    redis_mb_after = rig.redis_used_memory_mb()
    rig.stop_dispatcher()
    r = figures.backlog(
        events=events, publisher=pub, delivered=stats["requests"], drain_s=drain_s,
        samples=samples, peak_rss_mb=hwm_mb, other_cores=other_cores,
        redis_mb_before=redis_mb_before, redis_mb_after=redis_mb_after)
    at = [r[f"rss_at_{p}pct_mb"] for p in (10, 50, 90)]
    log(f"backlog {events}: drained in {drain_s:.1f} s ({r['drain_rate']:,.0f}/s), peak RSS "
        f"{hwm_mb:.1f} MB, RSS at 10/50/90% "
        + "/".join("-" if v is None else f"{v:.1f}" for v in at)
        + f" MB, flat={r['rss_flat']}, redis "
        f"{redis_mb_before:.0f} -> {redis_mb_after:.0f} MB{procfs.disturbed_note(other_cores)}")
    if r["ingest_s"]:
        log(f"  stream read in {r['ingest_s']:.1f} s; deliveries/s while reading "
            f"{r['delivery_rate_while_ingesting']:,.0f}, after "
            f"{r['delivery_rate_after_ingest'] or 0:,.0f}")
    return r


def run_once(rig, s, index, peer_dir, secret):
    """One run: the selected phases in their fixed order (memory in the first run only:
    it does not move with load), then the run's peak RSS and ratios."""
    log(f"run {index + 1}/{s.runs}")
    run = {}
    if s.has("wrk"):
        run["wrk"] = wrk(rig, s)
    if s.has("throughput"):
        run["throughput"] = {str(e): throughput(rig, s, e) for e in s.endpoints}
    if s.has("peer"):
        run["peer"] = peer(rig, s, peer_dir, secret)
    if s.has("latency"):
        run["latency"] = {str(e): latency(rig, s, e) for e in s.latency_endpoints}
    if s.has("memory") and index == 0:
        run["memory"] = memory(rig, s)
    if s.has("backlog"):
        run["backlog"] = backlog(rig, s)
    return figures.close_run(run)
