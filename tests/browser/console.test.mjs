// The operator console (/ui) in a real browser: Debian's chromium driven by playwright-core
// against the real binary (DISPATCHER_BINARY, the build under test, sanitizer build
// included), a private redis-server and a receiver of our own that fails until told not
// to. It does what an operator does: sign in, filter the failed deliveries, read the
// attempts, replay one and see it succeed, replay the rest after the dry-run count, pause
// and resume an endpoint, look up a connection and its consumer, read Health. Throughout,
// it checks that the page talks to no other origin, sends the token to /v1 only, keeps
// it out of URLs, localStorage and cookies, and logs no console error (a CSP violation
// would be one). Screenshots of each view go to CONSOLE_ARTIFACTS.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const binary = process.env.DISPATCHER_BINARY;
const artifacts = process.env.CONSOLE_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'console-'));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const token = `console-${randomBytes(16).toString('hex')}`;
const started = Date.now();
const children = [];
let failures = 0;
let passes = 0;

function log(msg) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Polls a condition (no fixed sleeps): resolves with its first truthy value.
async function until(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passes += 1;
    log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures += 1;
    log(`FAIL ${name}: ${e.stack || e}`);
    throw e;
  }
}

function startRedis(port, dir) {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  children.push(p);
  return until('redis-server', () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
  }));
}

// The receiver: answers 500 with a short body until `healthy`, then 204.
function startReceiver() {
  const state = { healthy: false, received: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      state.received.push({ id: req.headers['webhook-id'], ok: state.healthy });
      if (state.healthy) {
        res.writeHead(204).end();
      } else {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver is down for maintenance');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    state.url = `http://127.0.0.1:${server.address().port}/hook`;
    state.close = () => server.close();
    resolve(state);
  }));
}

async function main() {
  check(binary && fs.existsSync(binary), `DISPATCHER_BINARY (${binary}) exists`);
  check(fs.existsSync(chromiumPath), `${chromiumPath} exists (WITH_BROWSER=1 scripts/setup installs it; scripts/test does)`);
  fs.mkdirSync(artifacts, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'console-redis-'));

  const redisPort = await freePort();
  await startRedis(redisPort, tmp);
  const receiver = await startReceiver();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const logFile = fs.openSync(path.join(artifacts, 'dispatcher.log'), 'w');
  const dispatcher = spawn(binary, ['serve'], {
    env: {
      ...process.env,
      DISPATCHER_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DISPATCHER_LISTEN: `127.0.0.1:${port}`,
      DISPATCHER_ADMIN_TOKEN: token,
      DISPATCHER_ALLOW_PRIVATE_TARGETS: 'true',
      // Two quick attempts, so deliveries end `failed` within a second.
      DISPATCHER_RETRY_SCHEDULE: '200ms',
      DISPATCHER_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', logFile],
  });
  children.push(dispatcher);
  const v1 = async (method, p, body) => {
    const res = await fetch(origin + p, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  // A server under a sanitizer takes a few seconds to start.
  await until('the dispatcher to answer /readyz', async () => (await fetch(`${origin}/readyz`)).status === 200, 30000);

  // The data an operator looks at: one endpoint, two connections of one consumer, four
  // deliveries that all fail while the receiver is down.
  const consumer = randomUUID();
  const connA = randomUUID();
  const connB = randomUUID();
  const account = randomUUID();
  const endpoint = await v1('POST', '/v1/endpoints', { url: receiver.url, description: 'console test' });
  const events = [
    { event: 'account.connection.created', connectionid: connA, status: 'active', created: 1700000000 },
    { event: 'account.connection.updated', connectionid: connA, status: 'inactive', created: 1700000100 },
    { event: 'account.connection.updated', connectionid: connA, status: 'active', created: 1700000200 },
    { event: 'account.connection.created', connectionid: connB, status: 'active', created: 1700000300 },
  ];
  for (const e of events) await v1('POST', '/v1/events', { ...e, accountid: account, consumerid: consumer });
  await until('four failed deliveries', async () =>
    (await v1('GET', '/v1/deliveries?status=failed')).data.length === 4);

  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10000);
    const requests = [];
    const problems = [];
    page.on('request', (r) => requests.push({
      url: r.url(), auth: r.headers().authorization, method: r.method(),
    }));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

    await step('GET /ui carries the CSP and nosniff', async () => {
      const res = await page.goto(`${origin}/ui`);
      const h = res.headers();
      check(res.status() === 200, '200');
      check(/default-src 'self'/.test(h['content-security-policy'] || ''), `CSP: ${h['content-security-policy']}`);
      check(!/unsafe-inline/.test(h['content-security-policy']), 'no unsafe-inline');
      check(h['x-content-type-options'] === 'nosniff', 'nosniff');
    });

    await step('sign in', async () => {
      await page.getByLabel('Admin token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation').getByRole('button', { name: 'Deliveries' }).waitFor();
      check(await page.evaluate(() => localStorage.length) === 0, 'nothing in localStorage');
      check((await context.cookies()).length === 0, 'no cookie');
      check(await page.evaluate((t) => Object.values(sessionStorage).includes(t), token), 'token in sessionStorage');
    });

    const table = page.getByRole('table', { name: 'Deliveries' });
    const bodyRows = table.locator('tbody tr');

    await step('filter the failed deliveries and read their attempts', async () => {
      await page.getByLabel('Status').selectOption('failed');
      await until('four failed rows', async () => (await bodyRows.count()) === 4);
      for (const col of ['Status', 'Event', 'Endpoint', 'Attempts', 'Last error', 'Created']) {
        check(await table.getByRole('columnheader', { name: col, exact: true }).count() === 1, `column ${col}`);
      }
      check((await bodyRows.first().innerText()).includes('receiver answered 500'), 'last error shown');
      // Applied as typed (no Enter): another endpoint's id empties the list, its own fills it.
      await page.getByLabel('Endpoint').fill('ep_someoneelse');
      await until('no row for another endpoint', async () => (await bodyRows.count()) === 0);
      await page.getByLabel('Endpoint').fill(endpoint.id);
      await until('the four rows again', async () => (await bodyRows.count()) === 4);
      await page.getByLabel('Endpoint').fill('');
      await shot('deliveries');
      await bodyRows.first().getByRole('button', { name: 'Attempts' }).click();
      const attempts = page.getByRole('table', { name: /^Attempts of dlv_/ });
      await attempts.waitFor();
      const text = await attempts.innerText();
      check(text.includes('500') && text.includes('receiver is down for maintenance') && / ms/.test(text),
        `attempts show code, excerpt, duration: ${text}`);
      check((await attempts.locator('tbody tr').count()) === 2, 'two attempts');
      await shot('attempts');
    });

    await step('replay one delivery and see it succeed', async () => {
      receiver.healthy = true;
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('Connection id').fill(connB);
      await page.getByLabel('Connection id').press('Enter');
      await until('the one row of connection B', async () =>
        (await bodyRows.count()) === 1 && (await bodyRows.first().innerText()).includes('failed'));
      await bodyRows.first().getByRole('button', { name: 'Replay' }).click();
      // No click after this: the list refreshes itself.
      await until('the row to show succeeded', async () => (await bodyRows.first().innerText()).includes('succeeded'));
      check(receiver.received.some((r) => r.ok), 'the receiver got the replay');
    });

    await step('replay failed, after the dry-run count', async () => {
      await page.getByLabel('Connection id').fill('');
      await page.getByLabel('Status').selectOption('failed');
      await until('three failed rows', async () => (await bodyRows.count()) === 3);
      await page.getByRole('button', { name: 'Replay failed' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      check((await dialog.innerText()).includes('3 failed deliveries match'), `dialog: ${await dialog.innerText()}`);
      await shot('replay-failed-dialog');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      check((await v1('GET', '/v1/deliveries?status=failed')).data.length === 3, 'Cancel replays nothing');
      await page.getByRole('button', { name: 'Replay failed' }).click();
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      await until('no failed row left', async () => (await bodyRows.count()) === 0);
      await until('all four succeeded', async () =>
        (await v1('GET', '/v1/deliveries?status=succeeded')).data.length === 4);
    });

    await step('pause and resume the endpoint', async () => {
      await page.getByRole('navigation').getByRole('button', { name: 'Endpoints' }).click();
      const eps = page.getByRole('table', { name: 'Endpoints' });
      for (const col of ['URL', 'Enabled', 'Circuit']) {
        check(await eps.getByRole('columnheader', { name: col, exact: true }).count() === 1, `column ${col}`);
      }
      const row = eps.locator('tbody tr', { hasText: receiver.url });
      await until('the success rate', async () => (await row.innerText()).includes('100% of 4'));
      // The circuit as the API has it (CONTRACT section 9), or a dash from a server without it.
      const circuit = (await v1('GET', `/v1/endpoints/${endpoint.id}`)).circuit || '—';
      check((await row.locator('td').nth(2).innerText()) === circuit, `circuit cell shows ${circuit}`);
      await shot('endpoints');
      await row.getByRole('button', { name: 'Pause' }).click();
      await row.getByRole('button', { name: 'Resume' }).waitFor();
      check((await v1('GET', `/v1/endpoints/${endpoint.id}`)).enabled === false, 'paused in the API');
      check((await row.innerText()).includes('no'), 'Enabled shows no');
      await row.getByRole('button', { name: 'Resume' }).click();
      await row.getByRole('button', { name: 'Pause' }).waitFor();
      check((await v1('GET', `/v1/endpoints/${endpoint.id}`)).enabled === true, 'resumed in the API');
    });

    await step('recover opens with the dry-run count', async () => {
      const row = page.getByRole('table', { name: 'Endpoints' }).locator('tbody tr', { hasText: receiver.url });
      await row.getByRole('button', { name: 'Recover' }).click();
      const dialog = page.getByRole('dialog');
      await until('the count', async () => (await dialog.innerText()).includes('0 failed deliveries'));
      check(await dialog.getByLabel('Since').count() === 1 && await dialog.getByLabel('Until').count() === 1, 'window fields');
      check(await dialog.getByRole('button', { name: 'Confirm' }).isDisabled(), 'nothing to confirm');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
    });

    await step('rotate the secret and see the new one once', async () => {
      const row = page.getByRole('table', { name: 'Endpoints' }).locator('tbody tr', { hasText: receiver.url });
      await row.getByRole('button', { name: 'Rotate secret' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Grace').fill('1h');
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      await until('the new secret', async () => /whsec_\S+/.test(await dialog.innerText()));
      const shown = /whsec_\S+/.exec(await dialog.innerText())[0];
      check(shown !== endpoint.secret, 'a new secret');
      await dialog.getByRole('button', { name: 'Close' }).click();
      await dialog.waitFor({ state: 'hidden' });
    });

    await step('look up a connection and its consumer', async () => {
      await page.getByRole('navigation').getByRole('button', { name: 'Connections' }).click();
      await page.getByLabel('Connection id').fill(connA);
      await page.getByRole('button', { name: 'Show' }).click();
      const history = page.getByRole('table', { name: 'History' });
      await until('three history rows', async () => (await history.locator('tbody tr').count()) === 3);
      const rows = await history.locator('tbody tr').allInnerTexts();
      check(rows[0].includes('created') && rows[1].includes('inactive') && rows[2].includes('active'),
        `history oldest first: ${rows}`);
      check((await page.locator('#c-status').innerText()) === 'active', 'current status');
      await page.getByRole('button', { name: consumer }).click();
      const theirs = page.getByRole('table', { name: /^Connections of consumer/ });
      await until('two connections of the consumer', async () => (await theirs.locator('tbody tr').count()) === 2);
      await shot('connections');
    });

    await step('health shows readiness, counters and the chart', async () => {
      await page.getByRole('navigation').getByRole('button', { name: 'Health' }).click();
      await until('ready', async () => (await page.locator('#h-ready').innerText()).includes('ready'));
      await until('the counters', async () => (await page.locator('#h-created').innerText()) === '4');
      await until('failures by endpoint', async () =>
        (await page.getByRole('table', { name: 'Failed attempts by endpoint' }).innerText()).includes(endpoint.id));
      // Two samples make the first point of the chart.
      await until('a rate', async () => /now \d/.test(await page.locator('#rate-now').innerText()));
      await shot('health');
    });

    await step('only this origin, the token only to /v1 and never in a URL, no console error', async () => {
      check(requests.length > 10, `requests seen: ${requests.length}`);
      for (const r of requests) {
        check(new URL(r.url).origin === origin, `request to another origin: ${r.url}`);
        check(!r.url.includes(token), `token in a URL: ${r.url}`);
        const toV1 = new URL(r.url).pathname.startsWith('/v1/');
        check(toV1 === (r.auth === `Bearer ${token}`), `token sent ${r.auth ? '' : 'not '}to ${r.url}`);
      }
      check(problems.length === 0, `no console error: ${problems.join(' | ')}`);
    });
    await context.close();
  } finally {
    await browser.close();
    receiver.close();
  }

  await step('the service stops cleanly (under SANITIZE=1: no sanitizer report)', async () => {
    check(dispatcher.exitCode === null && dispatcher.signalCode === null,
      `the service still runs (it exited with ${dispatcher.exitCode ?? dispatcher.signalCode})`);
    const exited = new Promise((resolve) => dispatcher.once('exit', (code, signal) => resolve({ code, signal })));
    dispatcher.kill('SIGTERM');
    const { code, signal } = await exited;
    const text = fs.readFileSync(path.join(artifacts, 'dispatcher.log'), 'utf8');
    check(!/Sanitizer|runtime error:/.test(text), 'no sanitizer report in dispatcher.log');
    check(code === 0, `exit code ${code}${signal ? ` (signal ${signal})` : ''}`);
  });
}

let code = 0;
try {
  await main();
} catch (e) {
  if (!failures) log(`FAIL setup: ${e.stack || e}`);
  code = 1;
} finally {
  for (const c of children.reverse()) c.kill('SIGTERM');
}
console.log(`console_browser: ${passes} passed, ${failures || code} failed (screenshots in ${artifacts})`);
process.exit(code);
