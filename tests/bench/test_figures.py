"""figures: each phase's raw measurements into its results object."""

import unittest

from harness import figures

PUB = {"start_ns": 1_000_000_000, "rate": 50_000.0, "sent": 10_000}


class Throughput(unittest.TestCase):
    def result(self, requests, **kw):
        sink = {"requests": requests, "first_ns": 1_500_000_000, "last_ns": 3_000_000_000}
        args = dict(endpoints=10, events=1000, publisher=PUB, sink=sink, cpu_s=0.2,
                    redis_cpu_s=0.1, redis_tree_cpu_s=0.12, faults=500, redis_faults=50, peak_rss_mb=12.5,
                    other_cores=0.05, commands={"evalsha": 3.0})
        args.update(kw)
        return figures.throughput(**args)

    def test_rate_from_publish_start_to_last_receipt(self):
        r = self.result(10_000)
        self.assertEqual(r["expected_deliveries"], 10_000)
        self.assertTrue(r["complete"])
        self.assertEqual(r["elapsed_s"], 2.0)
        self.assertEqual(r["deliveries_per_s"], 5000.0)
        self.assertAlmostEqual(r["deliveries_per_s_first_to_last"], 10_000 / 1.5)
        self.assertAlmostEqual(r["cpu_us_per_delivery"], 20.0)
        self.assertAlmostEqual(r["redis_cpu_us_per_delivery"], 10.0)
        self.assertAlmostEqual(r["redis_cpu_with_forks_us_per_delivery"], 12.0)
        self.assertEqual(r["page_faults_per_1k"], 50.0)
        self.assertEqual(r["redis_page_faults_per_1k"], 5.0)
        self.assertEqual(r["redis_us_per_delivery"], {"evalsha": 3.0})

    def test_duplicates_do_not_raise_the_rate(self):
        r = self.result(12_000)
        self.assertEqual(r["deliveries_per_s"], 5000.0)
        self.assertAlmostEqual(r["cpu_us_per_delivery"], 0.2 / 12_000 * 1e6)

    def test_nothing_delivered(self):
        r = self.result(0)
        self.assertFalse(r["complete"])
        self.assertIsNone(r["cpu_us_per_delivery"])
        self.assertIsNone(r["page_faults_per_1k"])


class Peer(unittest.TestCase):
    def test_complete_needs_the_records_too(self):
        sink = {"requests": 1000, "first_ns": 0, "last_ns": 3_000_000_000}
        r = figures.peer(jobs=1000, concurrency=16, producer=PUB, sink=sink, completed=900,
                         cpu_s=0.5, redis_cpu_s=0.25, redis_tree_cpu_s=0.3, memory_grown=1_800_000, peak_rss_mb=80,
                         other_cores=0.0, commands={})
        self.assertFalse(r["complete"])
        self.assertEqual(r["jobs_per_s"], 500.0)
        self.assertEqual(r["worker_cpu_us_per_job"], 500.0)
        self.assertEqual(r["redis_cpu_us_per_job"], 250.0)
        self.assertEqual(r["redis_cpu_with_forks_us_per_job"], 300.0)
        self.assertEqual(r["redis_bytes_per_job"], 2000.0)


class Latency(unittest.TestCase):
    def test_costs_per_expected_delivery_and_ms(self):
        sink = {"requests": 3990, "p50_us": 1200, "p90_us": 2000, "p99_us": 4500,
                "p999_us": 9000, "max_us": 15000}
        r = figures.latency(rate=1000, seconds=2, endpoints=2, publisher=PUB, sink=sink,
                            cpu_s=0.04, redis_cpu_s=0.02, redis_faults=300, peak_rss_mb=10,
                            slow={"count": 0}, commands={}, other_cores=0.3)
        self.assertFalse(r["complete"])
        self.assertEqual((r["p50_ms"], r["p99_ms"], r["p999_ms"], r["max_ms"]),
                         (1.2, 4.5, 9.0, 15.0))
        self.assertAlmostEqual(r["cpu_us_per_delivery"], 10.0)
        self.assertAlmostEqual(r["redis_cpu_us_per_delivery"], 5.0)
        self.assertEqual(r["redis_page_faults_per_s"], 150.0)
        self.assertEqual(r["published"], 10_000)


class Memory(unittest.TestCase):
    def test_stream_left_out_and_extra_endpoint(self):
        one = figures.memory_step(events=100, endpoints=1, received=100, before=1000,
                                  stream_before=0, after=81_000, stream_after=30_000)
        self.assertEqual(one["retained_bytes"], 50_000)
        self.assertEqual(one["bytes_per_delivery"], 500.0)
        self.assertEqual(one["bytes_per_event"], 500.0)
        hundred = figures.memory_step(events=10, endpoints=100, received=1000, before=0,
                                      stream_before=0, after=14_900, stream_after=0)
        self.assertEqual(hundred["bytes_per_event"], 1490.0)
        m = figures.memory(400, {100: hundred, 1: one})
        self.assertEqual(list(m), ["payload_bytes", "1", "100", "bytes_per_extra_endpoint"])
        self.assertEqual(m["bytes_per_extra_endpoint"], (1490 - 500) / 99)

    def test_one_step_has_no_extra_endpoint(self):
        one = figures.memory_step(events=10, endpoints=1, received=5, before=0,
                                  stream_before=0, after=500, stream_after=0)
        self.assertFalse(one["complete"])
        self.assertEqual(one["bytes_per_delivery"], 100.0)
        self.assertNotIn("bytes_per_extra_endpoint", figures.memory(400, {1: one}))


class Backlog(unittest.TestCase):
    def result(self, samples, delivered=1000, drain_s=10.0):
        return figures.backlog(events=1000, publisher=PUB, delivered=delivered,
                               drain_s=drain_s, samples=samples, peak_rss_mb=30,
                               other_cores=0.0, redis_mb_before=50, redis_mb_after=60)

    def test_rss_at_shares_and_ingest_split(self):
        samples = [(0.5, 0, 10.0, 0), (2.0, 100, 12.0, 600), (4.0, 400, 13.0, 1000),
                   (10.0, 1000, 13.5, 1000)]
        r = self.result(samples)
        self.assertEqual(r["drain_rate"], 100.0)
        self.assertEqual((r["rss_at_10pct_mb"], r["rss_at_50pct_mb"], r["rss_at_90pct_mb"]),
                         (12.0, 13.5, 13.5))
        self.assertTrue(r["rss_flat"])
        self.assertEqual(r["ingest_s"], 4.0)
        self.assertEqual(r["delivery_rate_while_ingesting"], 100.0)
        self.assertEqual(r["delivery_rate_after_ingest"], 100.0)
        self.assertEqual(r["samples"]["rows"][1], [2.0, 100, 12.0, 600])

    def test_growth_beyond_4_mb_and_10_percent_is_not_flat(self):
        samples = [(1.0, 100, 20.0, 1000), (9.0, 900, 26.0, 1000)]
        self.assertFalse(self.result(samples)["rss_flat"])
        samples = [(1.0, 100, 20.0, 1000), (9.0, 900, 24.0, 1000)]
        self.assertTrue(self.result(samples)["rss_flat"])
        samples = [(1.0, 100, 100.0, 1000), (9.0, 900, 110.0, 1000)]
        self.assertTrue(self.result(samples)["rss_flat"])

    def test_stalled_drain(self):
        r = self.result([(1.0, 50, 20.0, 500)], delivered=50)
        self.assertFalse(r["complete"])
        self.assertIsNone(r["rss_at_90pct_mb"])
        self.assertFalse(r["rss_flat"])
        self.assertIsNone(r["ingest_s"])
        self.assertIsNone(r["delivery_rate_after_ingest"])


class Wrk(unittest.TestCase):
    OUTPUT = """Running 2s test @ http://127.0.0.1:1/hook/wrk
  2 threads and 32 connections
  Latency Distribution
     50%  160.00us
     99%    4.74ms
  160580 requests in 2.01s, 9.19MB read
Requests/sec:  79822.41
Transfer/sec:      4.57MB
"""

    def test_parse(self):
        self.assertEqual(figures.parse_wrk(self.OUTPUT), (79822.41, "4.74ms"))

    def test_cpu_per_request_is_over_what_the_sink_counted(self):
        r = figures.wrk(requests_per_s=80_000.0, latency_p99="4.7ms", sink_counted=400_000,
                        cpu_s=6.0)
        self.assertEqual(r, {"requests_per_s": 80_000.0, "latency_p99": "4.7ms",
                             "sink_counted": 400_000, "cpu_us_per_request": 15.0})

    def test_nothing_counted_gives_no_cpu_per_request(self):
        r = figures.wrk(requests_per_s=0.0, latency_p99=None, sink_counted=0, cpu_s=1.0)
        self.assertIsNone(r["cpu_us_per_request"])

    def test_body_has_the_events_size(self):
        self.assertEqual(len(figures.wrk_body(400)), 400)


class CloseRun(unittest.TestCase):
    def test_peak_rss_and_ratios_within_the_run(self):
        run = {"wrk": {"requests_per_s": 80_000},
               "throughput": {"1": {"deliveries_per_s": 40_000, "peak_rss_mb": 20},
                              "100": {"deliveries_per_s": 30_000, "peak_rss_mb": 25}},
               "peer": {"jobs_per_s": 5_000},
               "latency": {"2": {"peak_rss_mb": 18}},
               "backlog": {"peak_rss_mb": 31}}
        figures.close_run(run)
        self.assertEqual(run["peak_rss_mb"], 31)
        self.assertEqual(run["ratios"], {"deliveries_1_vs_wrk": 0.5,
                                         "deliveries_1_vs_peer": 8.0})

    def test_missing_phases_give_none(self):
        run = figures.close_run({"wrk": {"requests_per_s": 80_000}})
        self.assertIsNone(run["peak_rss_mb"])
        self.assertEqual(run["ratios"], {"deliveries_1_vs_wrk": None,
                                         "deliveries_1_vs_peer": None})


if __name__ == "__main__":
    unittest.main()
