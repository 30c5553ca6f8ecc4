"""The bench's environment knobs, read once into one immutable value.

scripts/bench has always been driven by environment variables (QUICK, RUNS, PHASES, ...;
bench/bench.py's docstring lists them), so a run can be repeated by pasting one command
line. Reading them here, from a mapping rather than os.environ, lets the tests check the
defaults, QUICK's smaller sizes and what reaches the results file without a bench run.
"""

import os
from dataclasses import dataclass, field

ALL_PHASES = ("wrk", "throughput", "peer", "latency", "memory", "backlog")


@dataclass(frozen=True)
class Settings:
    quick: bool
    runs: int
    phases: list
    # "connection" creates the endpoints with ordering per connection (CONTRACT section 9);
    # each published event has a connection of its own, so this measures the bookkeeping,
    # not waiting.
    ordering: str
    endpoints: list
    events: dict  # by endpoint count: events published (deliveries = events x endpoints)
    peer_jobs: int
    peer_concurrency: int
    latency_rate: int
    latency_seconds: int
    latency_endpoints: list
    memory_events: dict  # by endpoint count (1 and 100)
    backlog_events: int
    payload_size: int
    wrk_seconds: int
    wrk_connections: int
    stall_seconds: int
    jobs: int
    redis_aof: bool
    perf: bool
    keep_tmp: bool
    skip_build: bool
    build_dir: str
    out: str
    stream: str
    # DISPATCHER_* tuning passed through to the dispatcher, as recorded in the results.
    dispatcher_env: dict = field(default_factory=dict)

    def has(self, phase):
        return phase in self.phases


def passed_through(env):
    """The DISPATCHER_* variables worth recording: tokens and the Redis URL (it may hold
    a password) are ours or secret, so they stay out of the results file. All of them,
    these included, still reach the dispatcher's environment."""
    return {k: v for k, v in env.items()
            if k.startswith("DISPATCHER_") and "TOKEN" not in k and k != "DISPATCHER_REDIS_URL"}


def int_list(text):
    return [int(x) for x in text.split(",")]


def from_env(env, root):
    """Raises ValueError for a PHASES entry that names no phase: a typo would otherwise
    run nothing of it and still print a table."""
    quick = env.get("QUICK", "0") == "1"
    phases = env.get("PHASES", ",".join(ALL_PHASES)).split(",")
    unknown = [p for p in phases if p not in ALL_PHASES]
    if unknown:
        raise ValueError(f"PHASES: unknown {', '.join(unknown)} (phases: {', '.join(ALL_PHASES)})")

    def num(name, full, small):
        return int(env.get(name, small if quick else full))

    events = {1: num("EVENTS_1", 200_000, 20_000), 10: num("EVENTS_10", 20_000, 2_000),
              100: num("EVENTS_100", 2_000, 200)}
    return Settings(
        quick=quick,
        runs=num("RUNS", 3, 3),
        phases=phases,
        ordering=env.get("ORDERING", ""),
        endpoints=int_list(env.get("ENDPOINTS", "1,10,100")),
        events=events,
        peer_jobs=num("PEER_JOBS", events[1], events[1]),
        peer_concurrency=int(env.get("PEER_CONCURRENCY",
                                     env.get("DISPATCHER_ENDPOINT_CONCURRENCY", 16))),
        latency_rate=num("LATENCY_RATE", 2000, 2000),
        latency_seconds=num("LATENCY_SECONDS", 30, 5),
        latency_endpoints=int_list(env.get("LATENCY_ENDPOINTS", "2")),
        memory_events={1: num("MEMORY_EVENTS_1", 20_000, 5_000),
                       100: num("MEMORY_EVENTS_100", 2_000, 200)},
        backlog_events=num("BACKLOG_EVENTS", 500_000, 50_000),
        payload_size=num("PAYLOAD_SIZE", 400, 400),
        wrk_seconds=num("WRK_SECONDS", 5, 2),
        wrk_connections=num("WRK_CONNECTIONS", 32, 32),
        stall_seconds=num("STALL_SECONDS", 30, 30),
        jobs=num("JOBS", 2, 2),
        redis_aof=env.get("REDIS_AOF", "1") == "1",
        perf=env.get("PERF", "0") == "1",
        keep_tmp=env.get("KEEP_TMP", "0") == "1",
        skip_build=env.get("SKIP_BUILD", "0") == "1",
        build_dir=os.path.join(root, env.get("BUILD_DIR", "build-bench")),
        out=os.path.join(root, env.get("OUT", "bench-results.json")),
        stream=env.get("DISPATCHER_STREAM", "lifecycle:events"),
        dispatcher_env=passed_through(env),
    )


def config_json(s):
    """The results file's "config" object."""
    return {
        "runs": s.runs, "phases": s.phases, "endpoints": s.endpoints,
        "events": {str(k): v for k, v in s.events.items()}, "payload_size": s.payload_size,
        "latency_rate": s.latency_rate, "latency_seconds": s.latency_seconds,
        "latency_endpoints": s.latency_endpoints,
        "peer_jobs": s.peer_jobs, "peer_concurrency": s.peer_concurrency,
        "memory_events": {str(k): v for k, v in s.memory_events.items()},
        "redis_aof": s.redis_aof, "ordering": s.ordering,
        "backlog_events": s.backlog_events, "wrk_seconds": s.wrk_seconds,
        "wrk_connections": s.wrk_connections,
        "dispatcher_env": s.dispatcher_env,
    }
