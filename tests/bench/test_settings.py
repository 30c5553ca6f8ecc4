"""settings.from_env: the knobs scripts/bench has always read, and what the results file's
"config" records of them."""

import unittest

from harness import settings


class FromEnv(unittest.TestCase):
    def test_full_sizes_by_default(self):
        s = settings.from_env({}, "/repo")
        self.assertFalse(s.quick)
        self.assertEqual(s.runs, 3)
        self.assertEqual(s.phases, list(settings.ALL_PHASES))
        self.assertEqual(s.endpoints, [1, 10, 100])
        self.assertEqual(s.events, {1: 200_000, 10: 20_000, 100: 2_000})
        self.assertEqual(s.peer_jobs, 200_000)
        self.assertEqual(s.latency_seconds, 30)
        self.assertEqual(s.latency_endpoints, [2])
        self.assertEqual(s.memory_events, {1: 20_000, 100: 2_000})
        self.assertEqual(s.backlog_events, 500_000)
        self.assertEqual(s.wrk_seconds, 5)
        self.assertTrue(s.redis_aof)
        self.assertFalse(s.skip_build or s.keep_tmp or s.perf)
        self.assertEqual(s.build_dir, "/repo/build-bench")
        self.assertEqual(s.out, "/repo/bench-results.json")
        self.assertEqual(s.stream, "lifecycle:events")

    def test_quick_shrinks_sizes_but_not_runs(self):
        s = settings.from_env({"QUICK": "1"}, "/repo")
        self.assertTrue(s.quick)
        self.assertEqual(s.runs, 3)
        self.assertEqual(s.events, {1: 20_000, 10: 2_000, 100: 200})
        self.assertEqual(s.peer_jobs, 20_000)
        self.assertEqual(s.latency_seconds, 5)
        self.assertEqual(s.memory_events, {1: 5_000, 100: 200})
        self.assertEqual(s.backlog_events, 50_000)
        self.assertEqual(s.wrk_seconds, 2)

    def test_explicit_values_beat_quick(self):
        s = settings.from_env({"QUICK": "1", "RUNS": "1", "EVENTS_1": "7",
                               "BACKLOG_EVENTS": "1000000"}, "/repo")
        self.assertEqual((s.runs, s.events[1], s.backlog_events), (1, 7, 1_000_000))
        self.assertEqual(s.peer_jobs, 7, "PEER_JOBS follows EVENTS_1")

    def test_lists_and_switches(self):
        s = settings.from_env({"PHASES": "peer,latency", "ENDPOINTS": "1,100",
                               "LATENCY_ENDPOINTS": "1,2", "REDIS_AOF": "0",
                               "ORDERING": "connection", "SKIP_BUILD": "1", "KEEP_TMP": "1",
                               "PERF": "1", "OUT": "/tmp/x.json", "BUILD_DIR": "b"}, "/repo")
        self.assertEqual(s.phases, ["peer", "latency"])
        self.assertTrue(s.has("peer"))
        self.assertFalse(s.has("wrk"))
        self.assertEqual(s.endpoints, [1, 100])
        self.assertEqual(s.latency_endpoints, [1, 2])
        self.assertFalse(s.redis_aof)
        self.assertEqual(s.ordering, "connection")
        self.assertTrue(s.skip_build and s.keep_tmp and s.perf)
        self.assertEqual(s.out, "/tmp/x.json")
        self.assertEqual(s.build_dir, "/repo/b")

    def test_unknown_phase_is_refused(self):
        with self.assertRaisesRegex(ValueError, "unknown throughpt"):
            settings.from_env({"PHASES": "wrk,throughpt"}, "/repo")

    def test_peer_concurrency_follows_the_dispatchers(self):
        self.assertEqual(settings.from_env({}, "/r").peer_concurrency, 16)
        env = {"DISPATCHER_ENDPOINT_CONCURRENCY": "32"}
        self.assertEqual(settings.from_env(env, "/r").peer_concurrency, 32)
        env["PEER_CONCURRENCY"] = "8"
        self.assertEqual(settings.from_env(env, "/r").peer_concurrency, 8)


class PassedThrough(unittest.TestCase):
    def test_records_tuning_but_not_secrets(self):
        env = {"DISPATCHER_ENDPOINT_CONCURRENCY": "32", "DISPATCHER_ADMIN_TOKEN": "t",
               "DISPATCHER_REDIS_URL": "redis://:pw@h/0", "DISPATCHER_READ_TOKEN": "r",
               "HOME": "/root", "QUICK": "1"}
        self.assertEqual(settings.passed_through(env), {"DISPATCHER_ENDPOINT_CONCURRENCY": "32"})

    def test_config_json_keys_are_strings(self):
        c = settings.config_json(settings.from_env({"DISPATCHER_X": "1"}, "/r"))
        self.assertEqual(c["events"], {"1": 200_000, "10": 20_000, "100": 2_000})
        self.assertEqual(c["memory_events"], {"1": 20_000, "100": 2_000})
        self.assertEqual(c["dispatcher_env"], {"DISPATCHER_X": "1"})
        self.assertEqual(list(c), ["runs", "phases", "endpoints", "events", "payload_size",
                                   "latency_rate", "latency_seconds", "latency_endpoints",
                                   "peer_jobs", "peer_concurrency", "memory_events",
                                   "redis_aof", "ordering", "backlog_events", "wrk_seconds",
                                   "wrk_connections", "dispatcher_env"])


if __name__ == "__main__":
    unittest.main()
