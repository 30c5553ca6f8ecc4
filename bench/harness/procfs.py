"""CPU, page-fault and memory accounting of processes from /proc, and how busy the rest of
the machine was.

The bench reports costs per delivery (CPU µs, faults) as deltas of the kernel's own
counters around a phase rather than timing code from outside: /proc/PID/stat counts every
thread's user and system time. The machine has two cores shared with compiles and test
runs, so each phase also measures what other processes used (other_cores) and the report
flags a phase as disturbed. The parsers take the files' text, so the tests feed them
fixed samples; the readers below them are the only part touching /proc.
"""

import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Above this many cores used by others over a phase its figures are flagged: on two cores
# a compile elsewhere moves every figure, while a shell or an editor stays well below.
DISTURBED_CORES = 0.15


def _after_comm(stat_text):
    """The fields of /proc/PID/stat after the command name, which may hold spaces and
    parentheses: index 0 is the state (field 3 of proc(5))."""
    return stat_text.rsplit(")", 1)[1].split()


def cpu_seconds_of(stat_text, clk_tck=CLK_TCK):
    """utime + stime (fields 14 and 15 of proc(5)), in seconds."""
    fields = _after_comm(stat_text)
    return (int(fields[11]) + int(fields[12])) / clk_tck


def waited_children_cpu_seconds_of(stat_text, clk_tck=CLK_TCK):
    """cutime + cstime (fields 16 and 17 of proc(5)): the CPU of the children the process
    has waited for, in seconds."""
    fields = _after_comm(stat_text)
    return (int(fields[13]) + int(fields[14])) / clk_tck


def parent_pid_of(stat_text):
    """ppid (field 4 of proc(5))."""
    return int(_after_comm(stat_text)[1])


def tree_cpu_seconds_of(pid, stats, clk_tck=CLK_TCK):
    """The CPU of `pid` and of every process it forked, alive or already waited for, in
    seconds; `stats` maps each live pid to its /proc/PID/stat text. Redis rewrites its AOF
    in a forked child: with AOF on, that child is part of what the writes cost, and
    cpu_seconds leaves it out (its time joins the parent's cutime only once reaped, so a
    child alive at a sample is counted live, and the sum stays monotonic across its exit)."""
    own = stats.get(pid)
    if own is None:
        return 0.0
    total = cpu_seconds_of(own, clk_tck) + waited_children_cpu_seconds_of(own, clk_tck)
    for child, text in stats.items():
        if child != pid and parent_pid_of(text) == pid:
            total += tree_cpu_seconds_of(child, stats, clk_tck)
    return total


def minor_faults_of(stat_text):
    """minflt (field 10 of proc(5))."""
    return int(_after_comm(stat_text)[7])


def status_kb_of(status_text, key):
    """A kB line of /proc/PID/status (VmRSS, VmHWM), 0 when absent."""
    for line in status_text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def busy_seconds_of(proc_stat_text, clk_tck=CLK_TCK):
    """CPU time all cores spent in processes (user, nice, system) or stolen by the host,
    from /proc/stat's first line. Interrupt and softirq time are left out: with IRQ time
    accounting they are charged to no process, and here they are mostly our own loopback
    traffic."""
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = map(
        int, proc_stat_text.splitlines()[0].split()[1:9])
    return (user + nice + system + steal) / clk_tck


def other_cores(start, end, elapsed):
    """Average cores others kept busy between two (machine busy s, our own s) samples."""
    if elapsed <= 0:
        return 0.0
    other = (end[0] - start[0]) - (end[1] - start[1])
    return max(0.0, other / elapsed)


def disturbed(cores):
    return cores > DISTURBED_CORES


def disturbed_note(cores):
    """The suffix of a phase's log line."""
    return (f" [other processes kept {cores:.2f} cores busy: figures disturbed]"
            if disturbed(cores) else "")


def _read(path):
    with open(path) as f:
        return f.read()


def cpu_seconds(pid):
    return cpu_seconds_of(_read(f"/proc/{pid}/stat"))


def _all_stats():
    """Every live process's /proc/PID/stat text, by pid (those that exit meanwhile skipped)."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stats[int(name)] = _read(f"/proc/{name}/stat")
            except OSError:
                pass
    return stats


def tree_cpu_seconds(pid):
    return tree_cpu_seconds_of(pid, _all_stats())


def minor_faults(pid):
    return minor_faults_of(_read(f"/proc/{pid}/stat"))


def status_kb(pid, key):
    return status_kb_of(_read(f"/proc/{pid}/status"), key)


def system_busy_seconds():
    return busy_seconds_of(_read("/proc/stat"))


class OtherLoad:
    """CPU used over a phase by processes that are not the benchmark's. Ours is the
    long-lived processes' (given by pid) with what they forked (Redis's AOF rewrite), plus
    this program's and its waited-for children's (publisher, redis-cli, wrk); the rest of
    the machine's busy time is someone else's (roughly: kernel threads land there too)."""

    def __init__(self, pids):
        self.pids = pids
        self.start = self.sample()
        self.wall = time.monotonic()

    def sample(self):
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        stats = _all_stats()
        own += sum(tree_cpu_seconds_of(p, stats) for p in self.pids)
        return system_busy_seconds(), own

    def cores(self):
        return other_cores(self.start, self.sample(), time.monotonic() - self.wall)
