"""procfs: /proc parsing and the other-load arithmetic, on fixed samples."""

import unittest

from harness import procfs

# A real line's shape; the command name holds a space and a parenthesis, as it may.
STAT = ("4242 (dispatcher (x)) S 1 4242 4242 0 -1 4194560 1500 0 3 0 250 50 0 0 20 0 "
        "5 0 12345 100000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")


class Stat(unittest.TestCase):
    def test_cpu_is_utime_plus_stime(self):
        self.assertEqual(procfs.cpu_seconds_of(STAT, clk_tck=100), 3.0)

    def test_waited_children_cpu_is_cutime_plus_cstime(self):
        self.assertEqual(procfs.waited_children_cpu_seconds_of(STAT, clk_tck=100), 0.0)
        reaped = STAT.replace(" 250 50 0 0 20 ", " 250 50 70 30 20 ")
        self.assertEqual(procfs.waited_children_cpu_seconds_of(reaped, clk_tck=100), 1.0)

    def test_parent_pid(self):
        self.assertEqual(procfs.parent_pid_of(STAT), 1)

    def test_a_tree_counts_live_and_waited_for_children_and_nothing_else(self):
        def stat(pid, ppid, utime, cutime):
            return (f"{pid} (redis-server) S {ppid} 1 1 0 -1 0 0 0 0 0 {utime} 0 {cutime} 0 "
                    "20 0 1 0 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")
        # Redis (10) waited for a child worth 2 s; one worth 3 s runs now, with a child of
        # its own; 30 is a stranger.
        stats = {10: stat(10, 1, 500, 200), 11: stat(11, 10, 300, 0), 12: stat(12, 11, 100, 0),
                 30: stat(30, 1, 900, 0)}
        self.assertEqual(procfs.tree_cpu_seconds_of(10, stats, clk_tck=100), 11.0)
        # Once reaped, the child's time is the parent's cutime: the total does not jump.
        reaped = {10: stat(10, 1, 500, 600), 30: stat(30, 1, 900, 0)}
        self.assertEqual(procfs.tree_cpu_seconds_of(10, reaped, clk_tck=100), 11.0)
        self.assertEqual(procfs.tree_cpu_seconds_of(99, stats, clk_tck=100), 0.0)

    def test_minor_faults(self):
        self.assertEqual(procfs.minor_faults_of(STAT), 1500)

    def test_status_kb(self):
        text = "Name:\tredis\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n"
        self.assertEqual(procfs.status_kb_of(text, "VmHWM"), 20480)
        self.assertEqual(procfs.status_kb_of(text, "VmRSS"), 10240)
        self.assertEqual(procfs.status_kb_of(text, "VmSwap"), 0)

    def test_busy_counts_user_nice_system_steal_not_idle_irq(self):
        # user nice system idle iowait irq softirq steal guest guest_nice
        text = "cpu  100 20 30 9000 40 50 60 7 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
        self.assertEqual(procfs.busy_seconds_of(text, clk_tck=100), (100 + 20 + 30 + 7) / 100)


class OtherCores(unittest.TestCase):
    def test_busy_beyond_ours_over_wall_time(self):
        # The machine was busy 5 s more, 2 s of it ours, over 2 s: others used 1.5 cores.
        self.assertAlmostEqual(procfs.other_cores((10.0, 1.0), (15.0, 3.0), 2.0), 1.5)

    def test_never_negative(self):
        # Our counters tick at a different time than /proc/stat's: ours may run ahead.
        self.assertEqual(procfs.other_cores((10.0, 1.0), (11.0, 2.5), 1.0), 0.0)

    def test_no_time_no_load(self):
        self.assertEqual(procfs.other_cores((10.0, 1.0), (12.0, 1.0), 0.0), 0.0)


class Disturbed(unittest.TestCase):
    def test_flag_above_threshold(self):
        self.assertFalse(procfs.disturbed(0.15))
        self.assertTrue(procfs.disturbed(0.16))
        self.assertEqual(procfs.disturbed_note(0.1), "")
        self.assertEqual(procfs.disturbed_note(1.234),
                         " [other processes kept 1.23 cores busy: figures disturbed]")


if __name__ == "__main__":
    unittest.main()
