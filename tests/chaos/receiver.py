#!/usr/bin/env python3
"""The chaos test's webhook receiver: one loopback HTTP/1.1 server (asyncio, keep-alive)
whose endpoints misbehave at random, and a record of what it accepted.

Each request's path names an endpoint (/hook/<name>); the endpoint's weights pick one
outcome per request:

  ok      answer 204, then append "<name> <webhook-id> <unix time>" to the accepted log
  error   answer 500
  stall   say nothing for --stall seconds (past the dispatcher's request timeout), then
          drop the connection
  reset   close the connection with an RST (SO_LINGER 0) instead of answering

It runs in its own process so that its CPU and the controller's (chaos.py) do not share a
GIL: on two cores a slow receiver would turn into timeouts the test did not ask for.

An accepted id is logged only after the 204 has been handed to the kernel, so the log
holds what a real receiver would have processed. The log is flushed every 200 ms (the
controller tails it while the system drains) and on SIGTERM, when the per-endpoint
outcome counts are also written to --stats.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import struct
import sys
import time
import zlib

OUTCOMES = ("ok", "error", "stall", "reset")


class Receiver:
    def __init__(self, weights, stall_s, log_path):
        self.weights = weights  # name -> [weight per OUTCOMES]
        self.stall_s = stall_s
        self.log = open(log_path, "a", buffering=1 << 16)
        self.counts = {name: dict.fromkeys(OUTCOMES + ("bad_request",), 0) for name in weights}
        self.id_mismatch = 0  # body "id" differs from the webhook-id header
        # CONTRACT section 2: the body bytes are identical for every attempt of a delivery.
        self.body_crc = {}  # (name, webhook-id) -> crc32 of the first body seen
        self.body_changed = 0
        self.random = random.Random()

    async def handle(self, reader, writer):
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                name = parts[1].rsplit("/", 1)[-1] if len(parts) > 1 else ""
                webhook_id = headers.get("webhook-id")
                if name not in self.weights or not webhook_id:
                    self.counts.setdefault(name, dict.fromkeys(OUTCOMES + ("bad_request",), 0))
                    self.counts[name]["bad_request"] += 1
                    writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                try:
                    if json.loads(body).get("id") != webhook_id:
                        self.id_mismatch += 1
                except ValueError:
                    self.id_mismatch += 1
                crc = zlib.crc32(body)
                if self.body_crc.setdefault((name, webhook_id), crc) != crc:
                    self.body_changed += 1
                outcome = self.random.choices(OUTCOMES, self.weights[name])[0]
                self.counts[name][outcome] += 1
                if outcome == "ok":
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    self.log.write(f"{name} {webhook_id} {time.time():.3f}\n")
                elif outcome == "error":
                    writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5\r\n"
                                 b"\r\nchaos")
                    await writer.drain()
                elif outcome == "stall":
                    await asyncio.sleep(self.stall_s)
                    writer.transport.abort()
                    return
                else:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
        except (ConnectionError, OSError):
            return
        finally:
            writer.transport.abort()

    async def flush_loop(self):
        while True:
            await asyncio.sleep(0.2)
            self.log.flush()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True,
                    help='JSON {"name": {"ok": w, "error": w, "stall": w, "reset": w}}')
    ap.add_argument("--stall", type=float, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    weights = {name: [w.get(o, 0) for o in OUTCOMES]
               for name, w in json.loads(args.weights).items()}
    receiver = Receiver(weights, args.stall, args.log)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0, backlog=1024)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.replace(args.port_file + ".tmp", args.port_file)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    flusher = asyncio.create_task(receiver.flush_loop())
    await stop.wait()
    flusher.cancel()
    server.close()
    receiver.log.flush()
    with open(args.stats, "w") as f:
        json.dump({"outcomes": receiver.counts, "id_mismatch": receiver.id_mismatch,
                   "body_changed_between_attempts": receiver.body_changed}, f)
    sys.exit(0)


if __name__ == "__main__":
    asyncio.run(main())
