#!/usr/bin/env python3
"""Structural checks of compose.yaml and the Dockerfile, for machines without a container
runtime (CI has none): compose.yaml parses, Redis keeps an append-only file and is
health-checked, the dispatcher waits for Redis to be healthy, the demo receiver is
`dispatcher listen` with the secret the demo's endpoint is created with, and the demo
waits for a healthy dispatcher; the Dockerfile's runtime stage is slim, runs as a
non-root user and has a HEALTHCHECK that the binary answers. Given the built binary, also
that the runtime stage installs the Debian package of every shared library it links (ldd,
dpkg -S), as no image is built in CI. Prints each problem, exits 1 if there is one.
Usage: check_packaging.py SOURCE_DIR [BINARY]"""
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
problems = []


def check(ok, what):
    if not ok:
        problems.append(what)


compose = yaml.safe_load((root / "compose.yaml").read_text())
services = compose.get("services", {})
for name in ("redis", "dispatcher", "receiver", "demo"):
    check(name in services, f"compose.yaml: no service {name}")
if not problems:
    redis, dispatcher, receiver, demo = (services[n] for n in ("redis", "dispatcher", "receiver", "demo"))
    redis_cmd = redis.get("command", [])
    check("--appendonly" in redis_cmd and redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes",
          "compose.yaml: redis runs without --appendonly yes")
    check(any(v.split(":")[-1] == "/data" for v in redis.get("volumes", [])),
          "compose.yaml: redis's /data is not on a volume")
    check("redis-cli" in " ".join(redis.get("healthcheck", {}).get("test", [])),
          "compose.yaml: redis has no health check")
    check(dispatcher.get("depends_on", {}).get("redis", {}).get("condition") == "service_healthy",
          "compose.yaml: the dispatcher does not wait for a healthy redis")
    env = dispatcher.get("environment", {})
    check(env.get("DISPATCHER_REDIS_URL", "").startswith("redis://redis:6379"),
          "compose.yaml: the dispatcher does not point at the redis service")
    check(len(env.get("DISPATCHER_ADMIN_TOKEN", "").split(":-")[-1].rstrip("}")) >= 16,
          "compose.yaml: the default admin token is shorter than 16 characters")
    rcmd = receiver.get("command", [])
    check(rcmd[:1] == ["listen"], "compose.yaml: the receiver is not `dispatcher listen`")
    check(receiver.get("image") == dispatcher.get("image"),
          "compose.yaml: the receiver does not run the dispatcher's image")
    flag = lambda name: rcmd[rcmd.index(name) + 1] if name in rcmd else None
    check(flag("--host") == "0.0.0.0", "compose.yaml: the receiver listens on loopback only")
    script = " ".join(demo.get("command", []))
    check(f"http://receiver:{flag('--port')}/" in script,
          "compose.yaml: the demo's endpoint is not the receiver's port")
    check(demo.get("environment", {}).get("SECRET") == flag("--secret"),
          "compose.yaml: the demo's endpoint secret is not the receiver's --secret")
    check("/v1/endpoints" in script and "/v1/events" in script,
          "compose.yaml: the demo does not create an endpoint and publish an event")
    check(demo.get("depends_on", {}).get("dispatcher", {}).get("condition") == "service_healthy",
          "compose.yaml: the demo does not wait for a healthy dispatcher")

dockerfile = (root / "Dockerfile").read_text()
runtime = dockerfile[dockerfile.rindex("\nFROM "):]
check("bookworm-slim" in runtime.splitlines()[1], "Dockerfile: the runtime stage is not slim")
user = re.findall(r"^USER\s+(\S+)", runtime, re.M)
check(bool(user) and user[-1] not in ("root", "0"), "Dockerfile: the runtime runs as root")
check(re.search(r'^HEALTHCHECK .*\n?.*CMD \["dispatcher", "healthcheck"\]', runtime, re.M),
      "Dockerfile: no HEALTHCHECK running `dispatcher healthcheck`")

# debian:bookworm-slim has these (apt needs them); the sanitizers' runtimes are a test
# build's, never the image's.
IN_BASE_IMAGE = {"libc6", "libgcc-s1", "libstdc++6"}
SANITIZER_RUNTIME = re.compile(r"lib(asan|ubsan|lsan|tsan)\.so")


def package_of(path):
    """The Debian package owning a library, by its path or the file it resolves to."""
    for candidate in (path, os.path.realpath(path)):
        out = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if out.returncode == 0:
            return out.stdout.split(":", 1)[0]
    return None


if len(sys.argv) > 2:
    ldd = subprocess.run(["ldd", sys.argv[2]], capture_output=True, text=True, check=True).stdout
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", " ".join(
        re.findall(r"apt-get install[^&]*", runtime.replace("\\\n", " ")))))
    for path in re.findall(r"=> (/\S+)", ldd):
        if SANITIZER_RUNTIME.search(path):
            continue
        package = package_of(path)
        check(package is not None, f"{path}: no Debian package owns it")
        check(package is None or package in IN_BASE_IMAGE or package in installed,
              f"Dockerfile: the runtime stage does not install {package} ({path})")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
