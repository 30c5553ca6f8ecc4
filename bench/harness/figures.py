"""One phase's measurements turned into the object the results file holds for it.

Each phase (phases.py) samples counters before and after its load and hands the raw
numbers here: the arithmetic (rates over which span, per-delivery costs over which count,
what "complete" and "flat" mean) is in one place, and tested with made-up inputs. The
field names are the results file's (README, "Benchmark").
"""


def per(value, count, scale=1.0):
    """value / count x scale, None when nothing was counted."""
    return value / count * scale if count else None


def parse_wrk(output):
    """wrk --latency's requests/s (float) and its 99% line (text, e.g. "4.74ms")."""
    lines = output.splitlines()
    rps = next(float(l.split()[1]) for l in lines if l.startswith("Requests/sec:"))
    p99 = next((l.split()[1] for l in lines if l.strip().startswith("99%")), None)
    return rps, p99


def wrk(*, requests_per_s, latency_p99, sink_counted, cpu_s):
    """wrk's phase: its rate, and its own CPU per request (user + system of the wrk
    process, over what the sink counted): the cost of a plain keep-alive HTTP client on
    this machine, the floor the dispatcher's HTTP side can be held against in the same run."""
    return {"requests_per_s": requests_per_s, "latency_p99": latency_p99,
            "sink_counted": sink_counted, "cpu_us_per_request": per(cpu_s, sink_counted, 1e6)}


def wrk_body(payload_size):
    """A JSON body of payload_size bytes, as the events' size."""
    return '{"data":"' + "x" * (payload_size - 11) + '"}'


def throughput(*, endpoints, events, publisher, sink, cpu_s, redis_cpu_s, redis_tree_cpu_s,
               faults, redis_faults, peak_rss_mb, other_cores, commands):
    """A closed-loop burst: the rate is over publish start to the sink's last receipt
    (what a producer waits for), the costs over what the sink counted."""
    expected = events * endpoints
    delivered = sink["requests"]
    elapsed = (sink["last_ns"] - publisher["start_ns"]) / 1e9
    window = (sink["last_ns"] - sink["first_ns"]) / 1e9
    return {
        "endpoints": endpoints,
        "events": events,
        "expected_deliveries": expected,
        "delivered": delivered,
        "complete": delivered >= expected,
        "publish_rate": publisher["rate"],
        "elapsed_s": elapsed,
        "deliveries_per_s": min(delivered, expected) / elapsed if elapsed > 0 else None,
        "deliveries_per_s_first_to_last": delivered / window if window > 0 else None,
        "cpu_us_per_delivery": per(cpu_s, delivered, 1e6),
        "redis_cpu_us_per_delivery": per(redis_cpu_s, delivered, 1e6),
        # With the children Redis forked meanwhile: the AOF rewrites its writes caused,
        # which run beside its one thread (so not in the fleet's ceiling) but cost a core.
        "redis_cpu_with_forks_us_per_delivery": per(redis_tree_cpu_s, delivered, 1e6),
        "peak_rss_mb": peak_rss_mb,
        "page_faults_per_1k": per(faults, delivered, 1000),
        "redis_page_faults_per_1k": per(redis_faults, delivered, 1000),
        "other_load_cores": other_cores,
        "redis_us_per_delivery": commands,
    }


def peer(*, jobs, concurrency, producer, sink, completed, cpu_s, redis_cpu_s, redis_tree_cpu_s,
         memory_grown, peak_rss_mb, other_cores, commands):
    """The BullMQ peer, measured as throughput() measures the dispatcher."""
    delivered = sink["requests"]
    elapsed = (sink["last_ns"] - producer["start_ns"]) / 1e9
    return {
        "jobs": jobs,
        "concurrency": concurrency,
        "delivered": delivered,
        "completed_in_redis": completed,
        "complete": delivered >= jobs and completed >= jobs,
        "produce_rate": producer["rate"],
        "elapsed_s": elapsed,
        "jobs_per_s": min(delivered, jobs) / elapsed if elapsed > 0 else None,
        "worker_cpu_us_per_job": per(cpu_s, delivered, 1e6),
        "redis_cpu_us_per_job": per(redis_cpu_s, delivered, 1e6),
        "redis_cpu_with_forks_us_per_job": per(redis_tree_cpu_s, delivered, 1e6),
        # Everything BullMQ keeps per job: its hash (data, options, return value), the
        # completed set and its events stream.
        "redis_bytes_per_job": per(memory_grown, completed),
        "worker_peak_rss_mb": peak_rss_mb,
        "other_load_cores": other_cores,
        "redis_us_per_job": commands,
    }


def latency(*, rate, seconds, endpoints, publisher, sink, cpu_s, redis_cpu_s, redis_faults,
            peak_rss_mb, slow, commands, other_cores):
    """Open loop: costs are per expected delivery (rate x seconds x endpoints), the
    percentiles the sink's over every delivery it received."""
    expected = rate * seconds * endpoints
    return {
        "rate": rate,
        "seconds": seconds,
        "endpoints": endpoints,
        "published": publisher["sent"],
        "publish_rate": publisher["rate"],
        "delivered": sink["requests"],
        "complete": sink["requests"] >= expected,
        "p50_ms": sink["p50_us"] / 1000,
        "p90_ms": sink["p90_us"] / 1000,
        "p99_ms": sink["p99_us"] / 1000,
        "p999_ms": sink["p999_us"] / 1000,
        "max_ms": sink["max_us"] / 1000,
        "peak_rss_mb": peak_rss_mb,
        "cpu_us_per_delivery": cpu_s / expected * 1e6,
        "redis_cpu_us_per_delivery": redis_cpu_s / expected * 1e6,
        "redis_us_per_delivery": commands,
        "redis_page_faults_per_s": redis_faults / seconds,
        # Redis commands that ran 1 ms or longer (SLOWLOG): each one delays every delivery
        # behind it.
        "redis_slow_commands": slow,
        "other_load_cores": other_cores,
    }


def memory_step(*, events, endpoints, received, before, stream_before, after, stream_after):
    """Redis data grown over one memory step, less the input stream (transient: entries
    are trimmed once acknowledged), per retained delivery and per event."""
    expected = events * endpoints
    delivered = min(received, expected)
    grown = (after - stream_after) - (before - stream_before)
    return {
        "events": events,
        "deliveries": delivered,
        "complete": delivered >= expected,
        "retained_bytes": grown,
        "stream_bytes": stream_after,
        "bytes_per_delivery": per(grown, delivered),
        "bytes_per_event": grown / events,
    }


def memory(payload_size, steps):
    """The memory phase's object: steps by endpoint count, and, with both 1 and 100, what
    each of the 99 endpoints beyond the first adds per event."""
    result = {"payload_bytes": payload_size}
    result.update({str(e): step for e, step in sorted(steps.items())})
    if "1" in result and "100" in result:
        result["bytes_per_extra_endpoint"] = (
            result["100"]["bytes_per_event"] - result["1"]["bytes_per_event"]) / 99
    return result


# "Flat": from 10% to 90% of the drain, RSS grows by at most this many MB or this share.
FLAT_MB, FLAT_SHARE = 4.0, 0.1


def backlog(*, events, publisher, delivered, drain_s, samples, peak_rss_mb, other_cores,
            redis_mb_before, redis_mb_after):
    """A drain of `events` published while the dispatcher was stopped. samples are
    (seconds since start, delivered, RSS MB, stream entries read), in time order."""

    def rss_at(share):
        target = share * events
        return next((rss for _, done, rss, _ in samples if done >= target), None)

    # The drain has two parts: while the reader is still ingesting the stream, and after.
    read_all = next(((t, done) for t, done, _, read in samples if read >= events), None)
    ingest_s, delivered_while_ingesting = read_all or (None, None)
    at = {f"rss_at_{int(s * 100)}pct_mb": rss_at(s) for s in (0.1, 0.5, 0.9)}
    r10, r90 = at["rss_at_10pct_mb"], at["rss_at_90pct_mb"]
    flat = r10 is not None and r90 is not None and r90 - r10 <= max(FLAT_MB, FLAT_SHARE * r10)
    return {
        "events": events,
        "publish_rate": publisher["rate"],
        "delivered": delivered,
        "complete": delivered >= events,
        "drain_s": drain_s,
        "drain_rate": delivered / drain_s,
        # How long the stream took to be read, and the delivery rate during and after.
        "ingest_s": ingest_s,
        "delivery_rate_while_ingesting": delivered_while_ingesting / ingest_s
        if ingest_s else None,
        "delivery_rate_after_ingest": (delivered - delivered_while_ingesting)
        / (drain_s - ingest_s) if ingest_s and drain_s > ingest_s else None,
        "peak_rss_mb": peak_rss_mb,
        **at,
        "rss_flat": flat,
        "other_load_cores": other_cores,
        "redis_used_memory_mb_before": redis_mb_before,
        "redis_used_memory_mb_after": redis_mb_after,
        "samples": {"columns": ["seconds", "delivered", "rss_mb", "stream_entries_read"],
                    "rows": [[round(t, 2), n, round(m, 1), r] for t, n, m, r in samples]},
    }


def close_run(run):
    """Adds to one run's phases the dispatcher's peak RSS over them and the ratios the
    targets are about, taken within the run (both sides saw the same machine state)."""
    rss = [r["peak_rss_mb"] for r in run.get("throughput", {}).values()]
    rss += [r["peak_rss_mb"] for r in run.get("latency", {}).values()]
    rss += [run["backlog"]["peak_rss_mb"]] if "backlog" in run else []
    run["peak_rss_mb"] = max(rss) if rss else None
    d1 = run.get("throughput", {}).get("1", {}).get("deliveries_per_s")
    wrk = run.get("wrk", {}).get("requests_per_s")
    peer_rate = run.get("peer", {}).get("jobs_per_s")
    run["ratios"] = {
        "deliveries_1_vs_wrk": d1 / wrk if d1 and wrk else None,
        "deliveries_1_vs_peer": d1 / peer_rate if d1 and peer_rate else None,
    }
    return run
