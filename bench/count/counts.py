#!/usr/bin/env python3
"""Per-delivery counts of one dispatcher build, which the machine's load does not move
(issue 9: CPU timings on two shared cores do): syscalls (perf stat on the syscall
tracepoints), minor page faults (/proc), heap allocations (alloc_counter.so preloaded),
and CPU (/proc, which load does move). Reuses bench/harness: a private Redis (AOF as the
bench), the sink, a fresh `dispatcher serve` with ENDPOINTS endpoints; a warm-up burst, then
EVENTS events (deliveries = EVENTS x ENDPOINTS) counted from publish to the sink's last
receipt plus 0.5 s for the last records. Needs root (perf) and
`cc -O2 -shared -fPIC -o bench/count/alloc_counter.so bench/count/alloc_counter.c -ldl`.

usage: python3 bench/count/counts.py BUILD_DIR EVENTS ENDPOINTS [perf.data for perf record]
e.g.   python3 bench/count/counts.py build-bench 20000 1"""
import os, shutil, signal, struct, subprocess, sys, tempfile, time
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
build = os.path.abspath(sys.argv[1])
events, endpoints = int(sys.argv[2]), int(sys.argv[3])
record = sys.argv[4] if len(sys.argv) > 4 else None
preload = os.path.join(root, "bench", "count", "alloc_counter.so")
sys.path.insert(0, os.path.join(root, "bench"))
from harness import settings
from harness.rig import Rig, log
from harness.procfs import cpu_seconds, minor_faults
env = dict(os.environ); env["BUILD_DIR"] = build
s = settings.from_env(env, root)
s = s.__class__(**{**s.__dict__, "build_dir": build})
tmp = tempfile.mkdtemp(prefix="dispatcher-count-")
rig = Rig(s, tmp, token="t" + os.urandom(8).hex())
SYSCALLS = ["sendmsg", "sendto", "recvmsg", "recvfrom", "read", "write", "writev", "readv",
            "epoll_wait", "epoll_ctl", "timerfd_settime", "futex", "mmap", "munmap", "brk",
            "madvise", "mprotect", "getrandom", "openat", "close", "socket", "connect",
            "setsockopt", "ioctl", "clock_gettime"]
def mc(pid):
    with open(f"/dev/shm/mcount.{pid}", "rb") as f:
        return struct.unpack("<3Q", f.read(24))
pid = None
try:
    rig.start_redis(); rig.start_sink()
    rig.fresh()
    os.environ["LD_PRELOAD"] = preload
    pid = rig.start_dispatcher("count")
    del os.environ["LD_PRELOAD"]
    rig.register_endpoints(endpoints)
    warm = max(20, 2000 // endpoints)
    rig.publish("--count", warm); rig.wait_delivered(warm * endpoints)
    time.sleep(1.0)
    rig.sink_reset()
    evs = ["raw_syscalls:sys_enter", "minor-faults"] + [f"syscalls:sys_enter_{n}" for n in SYSCALLS]
    out = os.path.join(tmp, "stat.txt")
    stat = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-p", str(pid)] +
                            sum((["-e", e] for e in evs), []))
    rec = None
    if record:
        rec = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "999",
                                "-p", str(pid), "-o", record], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    c0, f0, m0 = cpu_seconds(pid), minor_faults(pid), mc(pid)
    t0 = time.monotonic()
    rig.publish("--count", events)
    stats = rig.wait_delivered(events * endpoints)
    time.sleep(0.5)  # the last records
    c1, f1, m1 = cpu_seconds(pid), minor_faults(pid), mc(pid)
    el = time.monotonic() - t0
    stat.send_signal(signal.SIGINT); stat.wait()
    if rec: rec.send_signal(signal.SIGINT); rec.wait()
    n = stats["requests"]
    print(f"deliveries {n} in {el:.1f}s; cpu {1e6*(c1-c0)/n:.1f} us/delivery; "
          f"minflt {(f1-f0)/n:.3f}/delivery; allocs {(m1[0]-m0[0])/n:.1f}/delivery, "
          f"frees {(m1[1]-m0[1])/n:.1f}, malloc bytes {(m1[2]-m0[2])/n:.0f}/delivery")
    for line in open(out):
        parts = line.strip().split(",")
        if len(parts) > 2 and parts[0].replace(".", "").isdigit():
            v = float(parts[0])
            if v > 0: print(f"  {parts[2]:40s} {v/n:8.3f}/delivery")
    rig.stop_dispatcher()
finally:
    rig.cleanup()
    if pid is not None and os.path.exists(f"/dev/shm/mcount.{pid}"):
        os.remove(f"/dev/shm/mcount.{pid}")
    shutil.rmtree(tmp, ignore_errors=True)
