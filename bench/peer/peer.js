// The benchmark's BullMQ peer: the dispatcher's work done the way a Node team would do it
// with BullMQ, so that every scripts/bench run shows where the dispatcher stands against a
// queue a new user could pick instead. Two commands, run as separate processes like a
// service and the application feeding it:
//
//   produce  adds --count jobs to the queue, each the same ~--size byte connection event
//            bench_publisher XADDs (with data.sent_ns, so bench_sink records latency too),
//            in addBulk batches of 256 (the publisher's pipeline depth); prints one JSON
//            line: sent, start_ns, end_ns, elapsed_s, rate.
//   work     a Worker with --concurrency slots (the dispatcher's per-endpoint concurrency)
//            that signs each job's body Standard Webhooks style (HMAC-SHA256 over
//            id.timestamp.body, base64, with a whsec_ secret) and POSTs it over a
//            keep-alive http.Agent to --url; a non-2xx answer fails the attempt and BullMQ
//            retries it. Completed and failed jobs stay in Redis with their return value
//            (status and duration), the way the dispatcher keeps delivery history. Writes
//            --ready-file once connected; SIGTERM closes the worker and exits.
//
// Usage: node peer.js produce --port P --count N [--size B] [--queue Q]
//        node peer.js work --port P --url URL --ready-file PATH [--concurrency C] [--queue Q]
// The secret comes from PEER_SECRET (whsec_<base64>), or a fixed test secret.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const { performance } = require("node:perf_hooks");
const { Queue, Worker } = require("bullmq");

const BATCH = 256;

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || i + 1 >= argv.length) usage();
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

function usage() {
  process.stderr.write(
    "usage: node peer.js produce --port P --count N [--size B] [--queue Q]\n" +
      "       node peer.js work --port P --url URL --ready-file PATH [--concurrency C]" +
      " [--queue Q]\n");
  process.exit(2);
}

// CLOCK_REALTIME in nanoseconds, as bench_sink reads sent_ns (sub-microsecond precision is
// lost in a double, which latency in milliseconds does not notice).
function realtimeNs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

// The same event bench_publisher writes (CONTRACT section 1), padded to about `size` bytes.
function makeEvent(n, nonce, size) {
  const kinds = ["created", "updated", "deleted"];
  const statuses = ["active", "inactive", undefined];
  const kind = n % 3;
  const now = realtimeNs();
  const event = {
    event: `account.connection.${kinds[kind]}`,
    accountid: "7f9c2c1e-8a3b-4c5d-9e6f-0a1b2c3d4e5f",
    consumerid: `11111111-1111-4111-8111-${(n % 1000).toString(16).padStart(12, "0")}`,
    connectionid: `${nonce}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`,
  };
  if (statuses[kind]) event.status = statuses[kind];
  Object.assign(event, {
    created: Math.floor(now / 1e9),
    name: "Odoo",
    integrationid: "22222222-2222-4222-8222-222222222222",
    api: "accounting",
    data: { sent_ns: now, pad: "" },
  });
  const short = size - JSON.stringify(event).length;
  if (short > 0) event.data.pad = "x".repeat(short);
  return event;
}

function connection(args) {
  // maxRetriesPerRequest: null is what BullMQ asks of a worker's connection.
  return { host: "127.0.0.1", port: Number(args.port), maxRetriesPerRequest: null };
}

async function produce(args) {
  const count = Number(args.count);
  const size = Number(args.size || 400);
  if (!args.port || !(count > 0)) usage();
  const queue = new Queue(args.queue || "peer", { connection: connection(args) });
  await queue.waitUntilReady();
  const nonce = crypto.randomBytes(4).toString("hex");
  // Every job stays after it ran, like the dispatcher's delivery records; failed attempts
  // are retried with backoff like the dispatcher's retry schedule.
  const opts = {
    removeOnComplete: false,
    removeOnFail: false,
    attempts: 8,
    backoff: { type: "exponential", delay: 1000 },
  };
  const start = realtimeNs();
  for (let sent = 0; sent < count; ) {
    const jobs = [];
    for (const end = Math.min(count, sent + BATCH); sent < end; ++sent) {
      const event = makeEvent(sent, nonce, size);
      jobs.push({ name: event.event, data: event, opts });
    }
    await queue.addBulk(jobs);
  }
  const end = realtimeNs();
  await queue.close();
  const elapsed = (end - start) / 1e9;
  process.stdout.write(JSON.stringify({
    sent: count, start_ns: start, end_ns: end, elapsed_s: elapsed, rate: count / elapsed,
  }) + "\n");
}

// Standard Webhooks: "v1," + base64(HMAC-SHA256(key, id.timestamp.body)), where the key is
// the base64 text after "whsec_".
function sign(key, id, timestamp, body) {
  const mac = crypto.createHmac("sha256", key).update(`${id}.${timestamp}.${body}`);
  return `v1,${mac.digest("base64")}`;
}

function post(agent, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers, timeout: 10_000 }, (res) => {
      res.resume();  // drain the answer so the socket goes back to the pool
      res.on("end", () => resolve(res.statusCode));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

async function work(args) {
  const concurrency = Number(args.concurrency || 16);
  if (!args.port || !args.url || !args["ready-file"]) usage();
  const secret = process.env.PEER_SECRET || "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const url = new URL(args.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

  const worker = new Worker(args.queue || "peer", async (job) => {
    const body = JSON.stringify(job.data);
    const id = `msg_${job.id}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const started = performance.now();
    const status = await post(agent, url, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": sign(key, id, timestamp, body),
    }, body);
    if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
    // Kept on the completed job: what the dispatcher records of a delivery's attempt.
    return { status, duration_ms: Math.round((performance.now() - started) * 1000) / 1000 };
  }, { connection: connection(args), concurrency });
  worker.on("error", (err) => process.stderr.write(`peer worker: ${err.message}\n`));

  await worker.waitUntilReady();
  fs.writeFileSync(args["ready-file"], String(process.pid));

  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await worker.close();
    agent.destroy();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

const [command, ...rest] = process.argv.slice(2);
const args = parseArgs(rest);
const run = command === "produce" ? produce : command === "work" ? work : usage;
run(args).catch((err) => {
  process.stderr.write(`peer ${command}: ${err.stack || err}\n`);
  process.exit(1);
});
