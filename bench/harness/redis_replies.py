"""What the bench reads from Redis, as text or RESP, turned into figures.

redis-cli flattens nested replies (SLOWLOG GET, XINFO GROUPS), so those go over a socket
of our own in RESP; INFO is plain text either way. Encoding, decoding and summing up are
here, apart from the socket (rig.py), so the tests give them bytes and strings.
"""

import statistics


def encode_command(*args):
    """A RESP array of bulk strings."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return f"*{len(parts)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def read_reply(reader):
    """One RESP2 reply from a binary file object: arrays as lists, bulk strings as bytes,
    integers as int, simple strings as str; an error reply raises RuntimeError."""
    line = reader.readline()
    if not line:
        raise RuntimeError("connection closed before a reply")
    kind, value = line[:1], line[1:-2]
    if kind == b"*":
        count = int(value)
        return None if count < 0 else [read_reply(reader) for _ in range(count)]
    if kind == b"$":
        return None if int(value) < 0 else reader.read(int(value) + 2)[:-2]
    if kind == b":":
        return int(value)
    if kind == b"-":
        raise RuntimeError(value.decode())
    return value.decode()


def parse_info(text):
    """INFO's "key:value" lines into a dict of strings; section headers dropped."""
    return dict(line.split(":", 1) for line in text.splitlines()
                if ":" in line and not line.startswith("#"))


def data_bytes(memory_info):
    """used_memory less what is not data: client buffers (the dispatcher's and ours) and
    the AOF buffer. The keyspace's own tables (dict entries, expires) stay in: each key a
    layout creates costs them."""
    return int(memory_info["used_memory"]) - sum(
        int(memory_info.get(k, 0)) for k in ("mem_clients_normal", "mem_clients_slaves",
                                              "mem_aof_buffer"))


def parse_commandstats(text):
    """INFO commandstats into [(command, {calls, usec}), ...], costliest first."""
    out = []
    for line in text.splitlines():
        if line.startswith("cmdstat_"):
            name, fields = line[len("cmdstat_"):].split(":", 1)
            kv = dict(f.split("=", 1) for f in fields.split(","))
            out.append((name, {"calls": int(kv["calls"]), "usec": int(kv["usec"])}))
    return sorted(out, key=lambda item: -item[1]["usec"])


def us_per(commands, count, top=12):
    """Redis time per delivery (or job) by command, script-internal calls included, for
    the `top` costliest commands; {} when nothing was delivered."""
    if not count:
        return {}
    return {name: round(c["usec"] / count, 2) for name, c in commands[:top]}


def _argument_count(args):
    """SLOWLOG keeps 32 arguments and says in the last one how many more there were:
    the size of the batch a slow script was given."""
    more = args[-1].decode(errors="replace") if len(args) == 32 else ""
    if more.startswith("... ("):
        return len(args) + int(more.split("(")[1].split()[0]) - 1
    return len(args)


def summarize_slowlog(entries):
    """SLOWLOG GET entries ([id, time, µs, args, ...]) into the count, the worst and, by
    command (a script by its SHA1's first 8 digits), count, max_us and median_args."""
    by, worst = {}, 0
    for entry in entries:
        us, args = entry[2], entry[3]
        name = args[0].decode().lower()
        if name == "slowlog":  # our own SLOWLOG RESET, run before the dispatcher starts
            continue
        if name == "evalsha" and len(args) > 1:
            name += " " + args[1].decode()[:8]
        c = by.setdefault(name, {"count": 0, "max_us": 0, "args": []})
        c["count"] += 1
        c["max_us"] = max(c["max_us"], us)
        c["args"].append(_argument_count(args))
    for c in by.values():
        c["median_args"] = statistics.median(c.pop("args"))
        worst = max(worst, c["max_us"])
    return {"count": sum(c["count"] for c in by.values()), "max_us": worst, "by_command": by}


def entries_read(groups):
    """XINFO GROUPS reply: how many stream entries the first group that says has read."""
    for group in groups or []:
        fields = dict(zip(group[::2], group[1::2]))
        if fields.get(b"entries-read") is not None:
            return fields[b"entries-read"]
    return 0
