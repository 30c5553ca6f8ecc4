"""redis_replies: RESP in and out, INFO text, SLOWLOG and commandstats summaries."""

import io
import unittest

from harness import redis_replies as rr


class Resp(unittest.TestCase):
    def test_encode_counts_bytes_not_characters(self):
        self.assertEqual(rr.encode_command("GET", "é", 7),
                         b"*3\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n$1\r\n7\r\n")

    def test_nested_reply(self):
        raw = b"*3\r\n:5\r\n*2\r\n$3\r\nab\n\r\n$-1\r\n+OK\r\n"
        self.assertEqual(rr.read_reply(io.BytesIO(raw)), [5, [b"ab\n", None], "OK"])

    def test_null_array(self):
        self.assertIsNone(rr.read_reply(io.BytesIO(b"*-1\r\n")))

    def test_error_raises(self):
        with self.assertRaisesRegex(RuntimeError, "ERR no such key"):
            rr.read_reply(io.BytesIO(b"-ERR no such key\r\n"))

    def test_closed_connection_raises(self):
        with self.assertRaises(RuntimeError):
            rr.read_reply(io.BytesIO(b""))


class Info(unittest.TestCase):
    MEMORY = ("# Memory\r\nused_memory:1000000\r\nused_memory_human:976.56K\r\n"
              "mem_clients_normal:20000\r\nmem_aof_buffer:3000\r\n")

    def test_parse_drops_headers(self):
        info = rr.parse_info(self.MEMORY)
        self.assertEqual(info["used_memory"], "1000000")
        self.assertNotIn("# Memory", info)

    def test_data_bytes_leave_out_buffers(self):
        self.assertEqual(rr.data_bytes(rr.parse_info(self.MEMORY)), 1000000 - 20000 - 3000)

    def test_commandstats_costliest_first(self):
        text = ("# Commandstats\r\n"
                "cmdstat_xadd:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0\r\n"
                "cmdstat_evalsha:calls=4,usec=400,usec_per_call=100.00,rejected_calls=0\r\n")
        stats = rr.parse_commandstats(text)
        self.assertEqual(stats, [("evalsha", {"calls": 4, "usec": 400}),
                                 ("xadd", {"calls": 10, "usec": 50})])
        self.assertEqual(rr.us_per(stats, 100), {"evalsha": 4.0, "xadd": 0.5})
        self.assertEqual(rr.us_per(stats, 100, top=1), {"evalsha": 4.0})
        self.assertEqual(rr.us_per(stats, 0), {})


class Slowlog(unittest.TestCase):
    def test_groups_scripts_by_sha_and_counts_cut_arguments(self):
        sha = b"0123456789abcdef"
        cut = [b"EVALSHA", sha] + [b"k"] * 29 + [b"... (70 more arguments)"]
        entries = [
            [1, 0, 1500, [b"EVALSHA", sha, b"1", b"k"], b"", b""],
            [2, 0, 4000, cut, b"", b""],
            [3, 0, 1200, [b"XREADGROUP", b"GROUP"], b"", b""],
            [4, 0, 9000, [b"SLOWLOG", b"RESET"], b"", b""],
        ]
        s = rr.summarize_slowlog(entries)
        self.assertEqual(s["count"], 3)
        self.assertEqual(s["max_us"], 4000)
        script = s["by_command"]["evalsha 01234567"]
        self.assertEqual((script["count"], script["max_us"]), (2, 4000))
        self.assertEqual(script["median_args"], (4 + 32 + 70 - 1) / 2)
        self.assertEqual(s["by_command"]["xreadgroup"]["median_args"], 2)
        self.assertNotIn("slowlog", s["by_command"])

    def test_empty(self):
        self.assertEqual(rr.summarize_slowlog([]), {"count": 0, "max_us": 0, "by_command": {}})


class EntriesRead(unittest.TestCase):
    def test_first_group_with_a_position(self):
        groups = [[b"name", b"g", b"entries-read", None], [b"name", b"h", b"entries-read", 42]]
        self.assertEqual(rr.entries_read(groups), 42)
        self.assertEqual(rr.entries_read(None), 0)


if __name__ == "__main__":
    unittest.main()
