"""report: medians, the targets and their met/MISSED judgement, the table, the results
document."""

import unittest

from harness import report, settings

S = settings.from_env({"ENDPOINTS": "1,100", "LATENCY_ENDPOINTS": "2"}, "/r")


def run(d1, d100, wrk, peer, cpu1=10.0, cpu100=15.0, redis1=18.0, redis100=5.0, p99=3.0,
        p999=12.0, rss=30.0):
    return {
        "wrk": {"requests_per_s": wrk, "cpu_us_per_request": 12.5},
        "throughput": {
            "1": {"deliveries_per_s": d1, "cpu_us_per_delivery": cpu1,
                  "redis_cpu_us_per_delivery": redis1, "peak_rss_mb": rss},
            "100": {"deliveries_per_s": d100, "cpu_us_per_delivery": cpu100,
                    "redis_cpu_us_per_delivery": redis100, "peak_rss_mb": rss}},
        "peer": {"jobs_per_s": peer, "worker_cpu_us_per_job": 200.0,
                 "redis_cpu_us_per_job": 150.0, "redis_bytes_per_job": 1700.0},
        "latency": {"2": {"p50_ms": 1.0, "p99_ms": p99, "p999_ms": p999, "max_ms": 30.0,
                          "peak_rss_mb": rss, "redis_slow_commands": {"count": 2}}},
        "peak_rss_mb": rss,
        "ratios": {"deliveries_1_vs_wrk": d1 / wrk, "deliveries_1_vs_peer": d1 / peer},
    }


class Median(unittest.TestCase):
    def test_skips_missing(self):
        self.assertEqual(report.median([3, None, 1, 2]), 2)
        self.assertEqual(report.median([4, 1]), 2.5)
        self.assertIsNone(report.median([None, None]))

    def test_field(self):
        self.assertEqual(report.field({"a": {"b": 1}}, "a", "b"), 1)
        self.assertIsNone(report.field({"a": {"b": 1}}, "a", "c"))
        self.assertIsNone(report.field({"a": 5}, "a", "b"))


class Medians(unittest.TestCase):
    def test_ratio_medians_are_of_per_run_ratios(self):
        # Run 1 is fast on a fast machine, run 2 slow on a slow one, run 3 in between: the
        # ratio of the medians (40k / 80k) differs from the median of the ratios.
        runs = [run(60_000, 50_000, 100_000, 10_000), run(20_000, 15_000, 80_000, 4_000),
                run(40_000, 30_000, 60_000, 9_000)]
        med = report.medians(runs, S)
        self.assertEqual(med["throughput_1_deliveries_per_s"], 40_000)
        self.assertEqual(med["wrk_requests_per_s"], 80_000)
        self.assertEqual(med["wrk_cpu_us_per_request"], 12.5)
        self.assertAlmostEqual(med["deliveries_1_vs_wrk"], 0.6)
        self.assertAlmostEqual(med["deliveries_1_vs_peer"], 5.0)
        self.assertEqual(med["latency_2_p99_ms"], 3.0)
        self.assertNotIn("throughput_10_deliveries_per_s", med)
        self.assertNotIn("backlog_drain_rate", med)

    def test_flat_runs_counted(self):
        runs = [{"backlog": {"drain_rate": 1000, "rss_flat": flat}} for flat in (1, 0, 1)]
        self.assertEqual(report.medians(runs, S)["backlog_rss_flat_runs"], 2)


class Targets(unittest.TestCase):
    def test_bounds_at_the_goal_are_met(self):
        self.assertTrue(report.target("x", 20.0, 20.0, "<=", "")["met"])
        self.assertFalse(report.target("x", 20.01, 20.0, "<=", "")["met"])
        self.assertTrue(report.target("x", 0.4, 0.4, ">=", "")["met"])
        low = report.target("x", 0.3, 0.4, ">=", "")
        self.assertFalse(low["met"])
        self.assertAlmostEqual(low["ratio_to_goal"], 0.75)
        self.assertEqual(report.target("x", 1, 6.0, "<=", " µs")["target"], "<= 6 µs")

    def test_all_targets_from_a_full_run(self):
        med = report.medians([run(40_000, 30_000, 80_000, 9_000, cpu100=25.0)], S)
        med.update({"memory_1_bytes_per_delivery": 650.0,
                    "memory_bytes_per_extra_endpoint": 250.0})
        t = report.targets(med, S)
        self.assertEqual(list(t), [
            "redis_cpu_us_per_delivery_1", "redis_cpu_us_per_delivery_100",
            "dispatcher_cpu_us_per_delivery", "deliveries_per_s_1_endpoint_vs_wrk",
            "deliveries_per_s_1_endpoint_vs_peer", "p99_latency_ms", "p999_latency_ms",
            "memory_bytes_per_delivery_1_endpoint", "memory_bytes_per_extra_endpoint",
            "peak_rss_mb", "fanout_100_vs_1"])
        worst = t["dispatcher_cpu_us_per_delivery"]
        self.assertEqual(worst["value"], 25.0)
        self.assertIn("worst: 100 endpoint(s)", worst["label"])
        self.assertFalse(worst["met"])
        self.assertTrue(t["deliveries_per_s_1_endpoint_vs_wrk"]["met"])  # 0.5 >= 0.4
        self.assertTrue(t["deliveries_per_s_1_endpoint_vs_peer"]["met"])  # 4.44 >= 4
        self.assertEqual(t["memory_bytes_per_delivery_1_endpoint"]["limit"], 700)
        self.assertTrue(t["memory_bytes_per_delivery_1_endpoint"]["met"])
        self.assertFalse(t["memory_bytes_per_extra_endpoint"]["met"])
        self.assertAlmostEqual(t["fanout_100_vs_1"]["value"], 0.75)
        self.assertTrue(t["redis_cpu_us_per_delivery_100"]["met"])  # 5 <= 6

    def test_unmeasured_targets_are_left_out(self):
        t = report.targets({"wrk_requests_per_s": 80_000.0}, S)
        self.assertEqual(t, {})


class Render(unittest.TestCase):
    def test_table_and_target_lines(self):
        runs = [run(40_000, 30_000, 80_000, 9_000), run(42_000, 31_000, 80_000, 12_000)]
        med = report.medians(runs, S)
        tgt = report.targets(med, S)
        text = report.render(report.table_rows(runs, med, S), tgt, redis_aof=True)
        lines = text.splitlines()
        self.assertRegex(lines[0], r"^metric +runs  median$")
        self.assertRegex(text, r"\ndeliveries/s, 1 endpoint\(s\) +40,000 42,000  41,000\n")
        self.assertRegex(text, r"\n  redis commands >= 1 ms, x2 +2 2  -\n")
        self.assertRegex(text, r"\n  wrk CPU µs/request \(HTTP client floor\) +12\.5 12\.5  12\.5\n")
        self.assertIn("targets (Redis AOF everysec; value / goal:", text)
        # 40,000 / 9,000 and 42,000 / 12,000: per-run ratios 4.44 and 3.5, median 3.97.
        self.assertRegex(text, r"\nMISSED  deliveries/s at 1 endpoint / peer jobs/s +3\.97  "
                               r"goal >= 4 +value/goal 0\.99\n")
        self.assertRegex(text, r"\nmet     dispatcher peak RSS MB +30\.00  goal <= 64 MB +"
                               r"value/goal 0\.47\n")
        self.assertEqual(len({line.index("goal") for line in lines if "value/goal" in line
                              and not line.startswith("targets")}), 1, "columns aligned")

    def test_nothing_measured_prints_nothing(self):
        self.assertEqual(report.render([], {}, redis_aof=True), "")

    def test_without_persistence_says_so(self):
        runs = [run(40_000, 30_000, 80_000, 9_000)]
        med = report.medians(runs, S)
        text = report.render(report.table_rows(runs, med, S), report.targets(med, S), False)
        self.assertIn("targets (Redis without persistence;", text)


class Document(unittest.TestCase):
    def test_top_level_layout(self):
        runs = [run(40_000, 30_000, 80_000, 9_000)]
        doc = report.document(machine={"cpu": "x"}, started_at="2026-11-29T18:00:00Z",
                              duration_s=61.0, settings=S, config=settings.config_json(S),
                              runs=runs)
        self.assertEqual(list(doc), ["machine", "started_at", "duration_s", "quick", "config",
                                     "runs", "medians", "targets"])
        self.assertIs(doc["runs"], runs)
        self.assertEqual(doc["medians"]["peer_jobs_per_s"], 9_000)
        self.assertIn("p99_latency_ms", doc["targets"])


if __name__ == "__main__":
    unittest.main()
