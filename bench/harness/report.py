"""From the runs to what the bench prints and writes: medians, the targets, the table and
the results file (README, "Benchmark", describes every field).

A figure on this shared two-core machine moves from run to run, so the report shows each
run and their median, and judges the targets on ratios taken within the same run where a
target compares two systems (the dispatcher against wrk and against the BullMQ peer).
"""

import statistics

# The targets (issue 9, and the earlier ones still held).
TARGET_THROUGHPUT_SHARE = 0.40  # deliveries/s at 1 endpoint vs wrk's requests/s
TARGET_VS_PEER = 4.0  # deliveries/s at 1 endpoint vs the BullMQ peer's jobs/s
TARGET_REDIS_US = {1: 20.0, 100: 6.0}  # Redis CPU µs per delivery, by endpoints
TARGET_DISPATCHER_US = 20.0  # dispatcher CPU µs per delivery, at every endpoint count
TARGET_LATENCY_ENDPOINTS = 2  # the latency targets hold at LATENCY_RATE x this fan-out
TARGET_P99_MS = 5.0
TARGET_P999_MS = 20.0
TARGET_MEMORY_OVER_PAYLOAD = 300  # bytes per retained delivery above the payload, 1 endpoint
TARGET_MEMORY_PER_EXTRA_ENDPOINT = 200  # bytes per delivery to each further endpoint
TARGET_RSS_MB = 64.0
TARGET_FANOUT_SHARE = 0.5  # deliveries/s at 100 endpoints vs at 1


def median(values):
    """The median of the values that are not None; None when there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def field(run, *path):
    """run[path[0]][path[1]]..., or None where a phase or field is missing."""
    for key in path:
        if not isinstance(run, dict) or key not in run:
            return None
        run = run[key]
    return run


def medians(runs, s):
    """The "medians" object: flat names, only for figures some run measured."""
    med = {}

    def put(name, *path):
        values = [field(r, *path) for r in runs]
        if any(v is not None for v in values):
            med[name] = median(values)

    put("wrk_requests_per_s", "wrk", "requests_per_s")
    put("wrk_cpu_us_per_request", "wrk", "cpu_us_per_request")
    for e in s.endpoints:
        for f in ("deliveries_per_s", "cpu_us_per_delivery", "redis_cpu_us_per_delivery",
                  "redis_cpu_with_forks_us_per_delivery", "peak_rss_mb"):
            put(f"throughput_{e}_{f}", "throughput", str(e), f)
    for f in ("jobs_per_s", "worker_cpu_us_per_job", "redis_cpu_us_per_job",
              "redis_cpu_with_forks_us_per_job", "redis_bytes_per_job"):
        put(f"peer_{f}", "peer", f)
    put("deliveries_1_vs_wrk", "ratios", "deliveries_1_vs_wrk")
    put("deliveries_1_vs_peer", "ratios", "deliveries_1_vs_peer")
    for e in s.latency_endpoints:
        for f in ("p50_ms", "p99_ms", "p999_ms", "max_ms", "peak_rss_mb"):
            put(f"latency_{e}_{f}", "latency", str(e), f)
    for e in sorted(s.memory_events):
        put(f"memory_{e}_bytes_per_delivery", "memory", str(e), "bytes_per_delivery")
    put("memory_bytes_per_extra_endpoint", "memory", "bytes_per_extra_endpoint")
    put("memory_payload_bytes", "memory", "payload_bytes")
    for f in ("drain_rate", "ingest_s", "delivery_rate_while_ingesting",
              "delivery_rate_after_ingest", "peak_rss_mb", "rss_at_10pct_mb",
              "rss_at_50pct_mb", "rss_at_90pct_mb"):
        put(f"backlog_{f}", "backlog", f)
    if any("backlog" in r for r in runs):
        med["backlog_rss_flat_runs"] = sum(1 for r in runs if r["backlog"]["rss_flat"])
    put("peak_rss_mb", "peak_rss_mb")
    return med


def target(label, value, limit, kind, unit):
    """One target: its goal, the measured value, value / limit (the ratio to the goal) and
    met. An upper bound ("<=") is met at a ratio <= 1, a lower bound (">=") at >= 1."""
    ratio = value / limit
    return {"label": label, "target": f"{kind} {limit:,.6g}{unit}", "value": value,
            "limit": limit, "kind": kind, "ratio_to_goal": ratio,
            "met": ratio <= 1 if kind == "<=" else ratio >= 1}


def targets(med, s):
    """The "targets" object, from the medians; a target whose figure was not measured is
    left out."""
    out = {}

    def add(name, label, value, limit, kind, unit):
        if value is not None:
            out[name] = target(label, value, limit, kind, unit)

    for e, limit in TARGET_REDIS_US.items():
        add(f"redis_cpu_us_per_delivery_{e}", f"Redis CPU µs/delivery, {e} endpoint(s)",
            med.get(f"throughput_{e}_redis_cpu_us_per_delivery"), limit, "<=", " µs")
    dispatcher = [(med[f"throughput_{e}_cpu_us_per_delivery"], e) for e in s.endpoints
                  if med.get(f"throughput_{e}_cpu_us_per_delivery") is not None]
    if dispatcher:
        worst, at = max(dispatcher)
        add("dispatcher_cpu_us_per_delivery",
            f"dispatcher CPU µs/delivery (worst: {at} endpoint(s))", worst,
            TARGET_DISPATCHER_US, "<=", " µs")
    add("deliveries_per_s_1_endpoint_vs_wrk", "deliveries/s at 1 endpoint / wrk req/s",
        med.get("deliveries_1_vs_wrk"), TARGET_THROUGHPUT_SHARE, ">=", "")
    add("deliveries_per_s_1_endpoint_vs_peer", "deliveries/s at 1 endpoint / peer jobs/s",
        med.get("deliveries_1_vs_peer"), TARGET_VS_PEER, ">=", "")
    e = TARGET_LATENCY_ENDPOINTS
    add("p99_latency_ms", f"p99 ms at {s.latency_rate} events/s x {e} endpoints",
        med.get(f"latency_{e}_p99_ms"), TARGET_P99_MS, "<=", " ms")
    add("p999_latency_ms", f"p99.9 ms at {s.latency_rate} events/s x {e} endpoints",
        med.get(f"latency_{e}_p999_ms"), TARGET_P999_MS, "<=", " ms")
    add("memory_bytes_per_delivery_1_endpoint",
        f"Redis B/retained delivery, 1 endpoint (payload {s.payload_size} B)",
        med.get("memory_1_bytes_per_delivery"), s.payload_size + TARGET_MEMORY_OVER_PAYLOAD,
        "<=", " B")
    add("memory_bytes_per_extra_endpoint", "Redis B per extra endpoint (100 vs 1)",
        med.get("memory_bytes_per_extra_endpoint"), TARGET_MEMORY_PER_EXTRA_ENDPOINT,
        "<=", " B")
    add("peak_rss_mb", "dispatcher peak RSS MB", med.get("peak_rss_mb"), TARGET_RSS_MB,
        "<=", " MB")
    d1 = med.get("throughput_1_deliveries_per_s")
    d100 = med.get("throughput_100_deliveries_per_s")
    if d1 and d100:
        add("fanout_100_vs_1", "deliveries/s at 100 endpoints / at 1", d100 / d1,
            TARGET_FANOUT_SHARE, ">=", "")
    return out


def table_rows(runs, med, s):
    """The table's rows: (metric, each run's value, median), formatted."""
    rows = []

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    def row(name, values, medv, spec):
        rows.append((name, " ".join(fmt(v, spec) for v in values), fmt(medv, spec)))

    if "wrk_requests_per_s" in med:
        row("wrk sink ceiling (req/s)", [field(r, "wrk", "requests_per_s") for r in runs],
            med["wrk_requests_per_s"], ",.0f")
        row("  wrk CPU µs/request (HTTP client floor)",
            [field(r, "wrk", "cpu_us_per_request") for r in runs],
            med.get("wrk_cpu_us_per_request"), ".1f")
    for e in s.endpoints:
        if f"throughput_{e}_deliveries_per_s" not in med:
            continue
        t = [field(r, "throughput", str(e)) or {} for r in runs]
        row(f"deliveries/s, {e} endpoint(s)", [x.get("deliveries_per_s") for x in t],
            med[f"throughput_{e}_deliveries_per_s"], ",.0f")
        row(f"  dispatcher CPU µs/delivery, {e}", [x.get("cpu_us_per_delivery") for x in t],
            med.get(f"throughput_{e}_cpu_us_per_delivery"), ".1f")
        row(f"  Redis CPU µs/delivery, {e}", [x.get("redis_cpu_us_per_delivery") for x in t],
            med.get(f"throughput_{e}_redis_cpu_us_per_delivery"), ".1f")
        row(f"    with its AOF rewrites, {e}",
            [x.get("redis_cpu_with_forks_us_per_delivery") for x in t],
            med.get(f"throughput_{e}_redis_cpu_with_forks_us_per_delivery"), ".1f")
        row(f"  peak RSS MB, {e}", [x.get("peak_rss_mb") for x in t],
            med.get(f"throughput_{e}_peak_rss_mb"), ".1f")
    if "peer_jobs_per_s" in med:
        row(f"peer (BullMQ) jobs/s, concurrency {s.peer_concurrency}",
            [field(r, "peer", "jobs_per_s") for r in runs], med["peer_jobs_per_s"], ",.0f")
        row("  dispatcher / peer (1 endpoint)",
            [field(r, "ratios", "deliveries_1_vs_peer") for r in runs],
            med.get("deliveries_1_vs_peer"), ".2f")
        row("  peer Redis CPU µs/job", [field(r, "peer", "redis_cpu_us_per_job") for r in runs],
            med.get("peer_redis_cpu_us_per_job"), ".1f")
        row("    with its AOF rewrites", [field(r, "peer", "redis_cpu_with_forks_us_per_job")
                                         for r in runs],
            med.get("peer_redis_cpu_with_forks_us_per_job"), ".1f")
        row("  peer worker CPU µs/job", [field(r, "peer", "worker_cpu_us_per_job")
                                         for r in runs], med.get("peer_worker_cpu_us_per_job"),
            ".1f")
        row("  peer Redis B/retained job", [field(r, "peer", "redis_bytes_per_job")
                                            for r in runs], med.get("peer_redis_bytes_per_job"),
            ",.0f")
    for e in s.latency_endpoints:
        if f"latency_{e}_p99_ms" not in med:
            continue
        for f, label in (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9"),
                         ("max_ms", "max")):
            row(f"latency {label} ms @{s.latency_rate}/s x{e}",
                [field(r, "latency", str(e), f) for r in runs], med[f"latency_{e}_{f}"], ".2f")
        row(f"  redis commands >= 1 ms, x{e}",
            [field(r, "latency", str(e), "redis_slow_commands", "count") for r in runs], None,
            "d")
    if "memory_payload_bytes" in med:
        mem = [field(r, "memory") for r in runs if "memory" in r]
        for e in sorted(s.memory_events):
            if f"memory_{e}_bytes_per_delivery" in med:
                row(f"Redis B/retained delivery, {e} endpoint(s)",
                    [field(m, str(e), "bytes_per_delivery") for m in mem],
                    med[f"memory_{e}_bytes_per_delivery"], ",.0f")
        row("  Redis B per extra endpoint", [field(m, "bytes_per_extra_endpoint") for m in mem],
            med.get("memory_bytes_per_extra_endpoint"), ",.0f")
        row("  payload B", [field(m, "payload_bytes") for m in mem],
            med["memory_payload_bytes"], "d")
    if "backlog_drain_rate" in med:
        b = [field(r, "backlog") or {} for r in runs]
        row(f"backlog {s.backlog_events} drain/s", [x.get("drain_rate") for x in b],
            med["backlog_drain_rate"], ",.0f")
        row("  stream read in (s)", [x.get("ingest_s") for x in b],
            med.get("backlog_ingest_s"), ".1f")
        row("  deliveries/s while reading", [x.get("delivery_rate_while_ingesting") for x in b],
            med.get("backlog_delivery_rate_while_ingesting"), ",.0f")
        row("  deliveries/s after reading", [x.get("delivery_rate_after_ingest") for x in b],
            med.get("backlog_delivery_rate_after_ingest"), ",.0f")
        row("  backlog peak RSS MB", [x.get("peak_rss_mb") for x in b],
            med["backlog_peak_rss_mb"], ".1f")
        for p in (10, 50, 90):
            row(f"  backlog RSS at {p}% MB", [x.get(f"rss_at_{p}pct_mb") for x in b],
                med.get(f"backlog_rss_at_{p}pct_mb"), ".1f")
    if med.get("peak_rss_mb") is not None:
        row("peak RSS MB (all phases)", [r["peak_rss_mb"] for r in runs], med["peak_rss_mb"],
            ".1f")
    return rows


def render(rows, tgt, redis_aof):
    """The printed report: the metrics table, then one line a target (met or MISSED, the
    value, the goal, value/goal). Empty when nothing was measured."""
    if not rows:
        return ""
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows + [("", "runs", "")])
    lines = [f"{'metric':<{w0}}  {'runs':>{w1}}  median"]
    lines += [f"{name:<{w0}}  {values:>{w1}}  {medv}" for name, values, medv in rows]
    if tgt:
        lines += ["", f"targets (Redis {'AOF everysec' if redis_aof else 'without persistence'}; "
                  "value / goal: an upper bound is met at <= 1, a lower bound at >= 1)"]
        t0 = max(len(t["label"]) for t in tgt.values())
        for t in tgt.values():
            value = t["value"]
            shown = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
            lines.append(f"{'met   ' if t['met'] else 'MISSED'}  {t['label']:<{t0}}  "
                         f"{shown:>9}  goal {t['target']:<10}  "
                         f"value/goal {t['ratio_to_goal']:.2f}")
    return "\n".join(lines) + "\n"


def document(*, machine, started_at, duration_s, settings, config, runs):
    """The results file: every run, their medians and the targets."""
    med = medians(runs, settings)
    return {
        "machine": machine,
        "started_at": started_at,
        "duration_s": duration_s,
        "quick": settings.quick,
        "config": config,
        "runs": runs,
        "medians": med,
        "targets": targets(med, settings),
    }
