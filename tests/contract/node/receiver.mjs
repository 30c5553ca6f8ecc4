// A webhook receiver that verifies what the dispatcher sends with the official Standard
// Webhooks library (npm standardwebhooks) and checks x-chift-signature with node:crypto.
// The README's "Verifying webhooks" Node snippet is this file's core; the interop test
// (tests/integration/standard_webhooks_interop_test.cpp) runs it against real deliveries.
//
//   WEBHOOK_SECRET=whsec_... PORT=9101 node receiver.mjs
//
// Answers 204 to a webhook whose signatures verify and 401 otherwise, and prints one JSON
// line per request: its id, type, the verdict of each scheme, and the headers and body
// received (the test replays them with a tampered body).
import crypto from "node:crypto";
import http from "node:http";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET; // the endpoint's secret, whsec_...
const webhook = new Webhook(secret);

// x-chift-signature: hex HMAC-SHA256 of the body, keyed with the whole secret string.
function chiftVerdict(body, header) {
  if (header === undefined) return "absent";
  const expected = crypto.createHmac("sha256", secret).update(body).digest("hex");
  const ok = header.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(header), Buffer.from(expected));
  return ok ? "verified" : "mismatch";
}

http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8"); // the exact bytes, unparsed
    let standard = "verified";
    let event = null;
    try {
      event = webhook.verify(body, req.headers); // throws unless a v1 signature matches
    } catch (err) {
      standard = err.message;
    }
    const chift = chiftVerdict(body, req.headers["x-chift-signature"]);
    const ok = standard === "verified" && chift !== "mismatch";
    console.log(JSON.stringify({
      id: req.headers["webhook-id"], type: event?.event ?? null, standard, chift,
      status: ok ? 204 : 401, headers: req.headers, body,
    }));
    res.writeHead(ok ? 204 : 401).end();
  });
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log(JSON.stringify({ listening: true })));
