#!/usr/bin/env python3
"""Redis work and memory per delivery of one dispatcher build, which the machine's load
barely moves (issue 9): `INFO commandstats` calls and usec per delivery per command (the
EVALSHA line is the scripts' total, the others the commands they and the dispatcher ran),
Redis memory grown per retained delivery (INFO memory less client and AOF buffers, less
the input stream), keys created per event, and where the bytes are: every key grouped by
its shape (ids replaced by `*`) with its MEMORY USAGE, and the hour bucket's fields by
prefix (name and value bytes, HSTRLEN). Reuses bench/harness (a private Redis with AOF as
the bench, the sink, a fresh `dispatcher serve`): endpoints registered, a warm-up, then
the counters reset and EVENTS events published (each on its own connection, as the bench
does); the dispatcher stopped before memory is read (it records what is in flight).

usage: python3 bench/count/redis_counts.py BUILD_DIR EVENTS ENDPOINTS [perf.data]
(perf.data: `perf record` of redis-server while the EVENTS are delivered)
CALLGRIND=1: redis-server runs under valgrind's callgrind, instrumented only while the
EVENTS are delivered; prints the instructions it executed per delivery, which load does
not move (no hardware counters on this VM). Slow: about 2,000 to 5,000 deliveries.
e.g.   python3 bench/count/redis_counts.py build-bench 20000 1"""
import collections, os, re, shutil, signal, subprocess, sys, tempfile, time
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
build = os.path.abspath(sys.argv[1])
events, endpoints = int(sys.argv[2]), int(sys.argv[3])
record = sys.argv[4] if len(sys.argv) > 4 else None
sys.path.insert(0, os.path.join(root, "bench"))
from harness import settings
from harness.rig import Rig
from harness.procfs import cpu_seconds
env = dict(os.environ); env["BUILD_DIR"] = build
s = settings.from_env(env, root)
s = s.__class__(**{**s.__dict__, "build_dir": build})
tmp = tempfile.mkdtemp(prefix="dispatcher-rcount-")
callgrind = os.environ.get("CALLGRIND") == "1"
if callgrind:
    wrap = os.path.join(tmp, "bin")
    os.makedirs(wrap)
    with open(os.path.join(wrap, "redis-server"), "w") as f:
        f.write("#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no "
                f"--callgrind-out-file={tmp}/callgrind.out /usr/bin/redis-server \"$@\"\n")
    os.chmod(os.path.join(wrap, "redis-server"), 0o755)
    os.environ["PATH"] = wrap + ":" + os.environ["PATH"]
rig = Rig(s, tmp, token="t" + os.urandom(8).hex())

ID = re.compile(r"(evt|dlv|ep|con|conn|cons|cus|tok)_[0-9A-Za-z]+|[0-9a-f]{8}-[0-9a-f-]{27}|"
                r"[0-9A-Za-z]{16,}")


def shape(key):
    return ID.sub("*", key)


def all_keys():
    cursor, out = "0", []
    while True:
        reply = rig.redis_command("SCAN", cursor, "COUNT", "1000")
        cursor = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        out += [k.decode() if isinstance(k, bytes) else k for k in reply[1]]
        if cursor == "0":
            return out


try:
    rig.start_redis(); rig.start_sink()
    rig.fresh()
    rig.start_dispatcher("rcount")
    rig.register_endpoints(endpoints)
    warm = max(20, 2000 // endpoints)
    rig.publish("--count", warm); rig.wait_delivered(warm * endpoints)
    time.sleep(1.0)
    rig.sink_reset()
    keys_before = int(rig.redis_cli("DBSIZE"))
    mem0, stream0 = rig.redis_data_bytes(), rig.key_bytes(s.stream)
    rig.redis_cli("CONFIG", "RESETSTAT")
    rec = None
    if record:
        rec = subprocess.Popen(["perf", "record", "-F", "2999", "-p", str(rig.redis.pid), "-o",
                                record], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    if callgrind:
        subprocess.run(["callgrind_control", "-i", "on", str(rig.redis.pid)], check=True,
                       stdout=subprocess.DEVNULL)
    c0 = cpu_seconds(rig.redis.pid)
    rig.publish("--count", events)
    stats = rig.wait_delivered(events * endpoints)
    time.sleep(0.5)  # the last records
    c1 = cpu_seconds(rig.redis.pid)
    instructions = None
    if callgrind:
        subprocess.run(["callgrind_control", "-d", str(rig.redis.pid)], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["callgrind_control", "-i", "off", str(rig.redis.pid)], check=True,
                       stdout=subprocess.DEVNULL)
        for name in sorted(os.listdir(tmp)):
            if name.startswith("callgrind.out"):
                for line in open(os.path.join(tmp, name)):
                    if line.startswith(("summary:", "totals:")):
                        if os.environ.get("CALLGRIND_OUT"):
                            shutil.copy(os.path.join(tmp, name), os.environ["CALLGRIND_OUT"])
                        instructions = (instructions or 0) + int(line.split()[1])
                        break
    if rec:
        rec.send_signal(signal.SIGINT); rec.wait()
    cmds = rig.redis_commandstats()
    rig.stop_dispatcher()
    n = stats["requests"]
    mem1, stream1 = rig.redis_data_bytes(), rig.key_bytes(s.stream)
    keys = all_keys()
    print(f"deliveries {n} ({events} events x {endpoints} endpoints); redis cpu "
          f"{1e6 * (c1 - c0) / n:.1f} us/delivery (load-dependent)")
    total_calls = sum(c["calls"] for _, c in cmds if _ not in ("evalsha", "eval"))
    total_usec = sum(c["usec"] for _, c in cmds)
    print(f"commands per delivery {total_calls / n:.2f} (scripts' and direct, EVALSHA not "
          f"counted); commandstats usec per delivery {sum(c['usec'] for name, c in cmds if name in ('evalsha', 'eval', 'xadd', 'xreadgroup', 'xautoclaim', 'ping')) / n:.1f} "
          f"(EVALSHA + XADD + XREADGROUP + other top-level)")
    for name, c in cmds:
        print(f"  {name:18s} calls {c['calls'] / n:7.3f}/delivery  usec {c['usec'] / n:7.2f}/delivery"
              f"  ({c['usec'] / max(c['calls'], 1):.1f} per call)")
    if instructions is not None:
        print(f"redis-server instructions per delivery {instructions / n:,.0f} (callgrind)")
    grown = (mem1 - mem0) - (stream1 - stream0)
    print(f"memory grown per delivery {grown / n:,.0f} B (stream excluded; payload "
          f"{s.payload_size} B); keys created per event {(len(keys) - keys_before) / events:.2f}")
    # Where the bytes are: every key by shape.
    by_shape = collections.defaultdict(lambda: [0, 0])
    bucket_keys = []
    for k in keys:
        if k == s.stream:
            continue
        sh = shape(k)
        b = rig.key_bytes(k)
        by_shape[sh][0] += 1
        by_shape[sh][1] += b
        if re.search(r":b:[0-9a-f]{6}$", k):
            bucket_keys.append(k)
    print("bytes by key shape (MEMORY USAGE, all retained; per delivery over the whole run "
          "including the warm-up):")
    dlv_total = n + warm * endpoints
    for sh, (count, b) in sorted(by_shape.items(), key=lambda x: -x[1][1]):
        print(f"  {sh:50s} keys {count:6d}  bytes {b:11,d}  per delivery {b / dlv_total:8.1f}")
    for bk in bucket_keys:
        fields = collections.defaultdict(lambda: [0, 0, 0])
        cursor = "0"
        seen = 0
        while True:
            reply = rig.redis_command("HSCAN", bk, cursor, "COUNT", "1000")
            cursor = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
            items = reply[1]
            for i in range(0, len(items), 2):
                f, v = items[i], items[i + 1]
                pre = f[:2].decode()
                fields[pre][0] += 1
                fields[pre][1] += len(f)
                fields[pre][2] += len(v)
            seen += len(items) // 2
            if cursor == "0" or seen > 200000:
                break
        print(f"  {bk}: {seen} fields, "
              f"{rig.redis_command('OBJECT', 'ENCODING', bk).decode()}")
        for pre, (count, nb, vb) in sorted(fields.items()):
            print(f"    {pre:4s} fields {count:7d}  name {nb / count:6.1f} B  value "
                  f"{vb / count:7.1f} B avg")
finally:
    rig.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
