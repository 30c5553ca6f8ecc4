// The operator console (CONTRACT section 8): every view reads and acts through the same
// authorised /v1 API as curl would, so the page can do nothing an admin token cannot.
// The token lives in this tab's sessionStorage only and goes out in the Authorization
// header of /v1 requests, never in a URL, a cookie or persistent local storage. All text from the
// server is set with textContent: an event type or a receiver's answer is shown, never run.
'use strict';

const TOKEN_KEY = 'dispatcher.admin_token';
const REFRESH_MS = 1500;        // the list refreshes itself at least every 2 s (CONTRACT section 8)
const METRICS_EVERY_MS = 2000;  // one sample per 2 s: 150 points make the 5-minute chart
const CHART_WINDOW_MS = 5 * 60 * 1000;

// ---- small helpers ----------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}

function byId(root, id) {
  return root.querySelector(`#${id}`);
}

function fmtTime(s) {
  if (!s) return '—';
  return String(s).replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC');
}

function badge(status) {
  return el('span', { class: `badge s-${status}`, text: status });
}

function notice(text, isError = false) {
  const n = document.getElementById('notice');
  n.textContent = text;
  n.className = isError ? 'error' : 'ok';
}

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// ---- the API ----------------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

async function api(method, path, body) {
  // The one place the token leaves: only to this origin's /v1 (relative URL, same origin).
  if (!path.startsWith('/v1/')) throw new Error('the admin token is only sent to /v1');
  const init = {
    method,
    headers: { Authorization: `Bearer ${token()}` },
    cache: 'no-store',
    credentials: 'omit',
    redirect: 'error',
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'the server did not answer');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (res.status === 401 && path !== '/v1/endpoints?limit=1') {
    signOut('The server refused the token; sign in again.');
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code, err.message || `HTTP ${res.status}`, err.field);
  }
  return data;
}

// /readyz and /metrics need no admin token (CONTRACT section 6): none is sent to them.
async function publicGet(path) {
  const res = await fetch(path, { cache: 'no-store', credentials: 'omit', redirect: 'error' });
  return { status: res.status, text: await res.text() };
}

function describe(e) {
  if (!(e instanceof ApiError)) return String(e && e.message ? e.message : e);
  return e.field ? `${e.field}: ${e.message}` : e.message;
}

// ---- the confirmation dialog ------------------------------------------------------------

function confirmDialog({ title, text, fields = [], confirmable = true, cancelLabel = 'Cancel' }) {
  const d = document.getElementById('confirm');
  if (d.open) return Promise.resolve(false);  // a second click while one question is open
  document.getElementById('confirm-title').textContent = title;
  const t = document.getElementById('confirm-text');
  t.replaceChildren(...(Array.isArray(text) ? text : [text]));
  document.getElementById('confirm-fields').replaceChildren(...fields);
  const ok = document.getElementById('confirm-ok');
  ok.hidden = !confirmable;
  ok.disabled = !confirmable;
  d.querySelector('button[value="cancel"]').textContent = cancelLabel;
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'confirm'), { once: true });
  });
}

function setConfirmable(on, text) {
  const ok = document.getElementById('confirm-ok');
  ok.disabled = !on;
  if (text !== undefined) document.getElementById('confirm-text').textContent = text;
}

function field(label, input) {
  const id = `dlg-${label.toLowerCase().replace(/\W+/g, '-')}`;
  input.id = id;
  return el('p', { class: 'field' }, el('label', { for: id, text: label }), ' ', input);
}

// ---- views ------------------------------------------------------------------------------

const views = {};
let current = null;

function mountView(name) {
  const root = document.getElementById(`view-${name}`).content.firstElementChild.cloneNode(true);
  return root;
}

function show(name) {
  if (current && views[current].leave) views[current].leave();
  if (current !== name) notice('');
  current = name;
  document.getElementById('main').replaceChildren(views[name].root);
  for (const b of document.querySelectorAll('#nav button')) {
    if (b.dataset.view === name) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  views[name].refresh();
}

// Deliveries: the filtered, paged list (refreshing itself), attempts, replays.
function deliveriesView() {
  const root = mountView('deliveries');
  const status = byId(root, 'f-status');
  const endpoint = byId(root, 'f-endpoint');
  const connection = byId(root, 'f-connection');
  const rows = byId(root, 'deliveries-rows');
  const empty = byId(root, 'deliveries-empty');
  const refreshed = byId(root, 'deliveries-refreshed');
  const next = byId(root, 'deliveries-next');
  const first = byId(root, 'deliveries-first');
  let cursor = '';
  let nextCursor = null;
  let shown = '';
  let busy = false;
  let again = false;
  let typing = 0;

  function filters() {
    const f = {};
    if (endpoint.value.trim()) f.endpoint_id = endpoint.value.trim();
    if (connection.value.trim()) f.connectionid = connection.value.trim();
    return f;
  }

  function render(list) {
    const key = JSON.stringify(list);
    if (key === shown) return;
    shown = key;
    rows.replaceChildren(...list.data.map(row));
    empty.hidden = list.data.length > 0;
    nextCursor = list.next_cursor;
    next.disabled = !nextCursor;
    first.disabled = !cursor;
  }

  function row(d) {
    const actions = el('td', { class: 'actions' },
      el('button', { type: 'button', text: 'Attempts', onclick: () => showAttempts(d.id) }));
    if (d.status === 'failed' || d.status === 'succeeded') {
      actions.append(' ', el('button', { type: 'button', text: 'Replay', onclick: () => replay(d.id) }));
    }
    return el('tr', { 'data-id': d.id },
      el('td', {}, badge(d.status)),
      el('td', { text: d.event }),
      el('td', { class: 'mono', text: d.endpoint_id }),
      el('td', { class: 'num', text: String(d.attempt_count) }),
      el('td', { class: 'error-text', title: d.last_error || undefined, text: d.last_error || '' }),
      el('td', { text: fmtTime(d.created_at) }),
      actions);
  }

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const q = new URLSearchParams({ limit: '50' });
      if (status.value) q.set('status', status.value);
      for (const [k, v] of Object.entries(filters())) q.set(k, v);
      if (cursor) q.set('cursor', cursor);
      render(await api('GET', `/v1/deliveries?${q}`));
      refreshed.textContent = `refreshed ${new Date().toLocaleTimeString()}`;
      refreshed.classList.remove('error');
    } catch (e) {
      refreshed.textContent = describe(e);
      refreshed.classList.add('error');
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function refilter() {
    cursor = '';
    shown = '';
    refresh();
  }

  async function replay(id) {
    try {
      await api('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`);
      notice(`Replay of ${id} queued.`);
    } catch (e) {
      notice(`Replay of ${id}: ${describe(e)}`, true);
    }
    refresh();
  }

  async function replayFailed() {
    const body = { ...filters(), status: 'failed' };
    let dry;
    try {
      dry = await api('POST', '/v1/deliveries/retry', { ...body, dry_run: true });
    } catch (e) {
      notice(`Replay failed: ${describe(e)}`, true);
      return;
    }
    const scope = [body.endpoint_id && `endpoint ${body.endpoint_id}`,
      body.connectionid && `connection ${body.connectionid}`].filter(Boolean).join(', ');
    const what = `${dry.matched} failed ${dry.matched === 1 ? 'delivery matches' : 'deliveries match'}` +
      `${scope ? ` (${scope})` : ''}.`;
    const ok = await confirmDialog({
      title: 'Replay failed deliveries',
      text: dry.matched ? `${what} Queue them again?` : what,
      confirmable: dry.matched > 0,
    });
    if (!ok) return;
    try {
      const r = await api('POST', '/v1/deliveries/retry', body);
      notice(`Queued ${r.queued} of ${r.matched} failed deliveries again.`);
    } catch (e) {
      notice(`Replay failed: ${describe(e)}`, true);
    }
    refresh();
  }

  async function showAttempts(id) {
    const section = byId(root, 'attempts');
    try {
      const d = await api('GET', `/v1/deliveries/${encodeURIComponent(id)}`);
      byId(root, 'attempts-title').textContent = `Attempts of ${d.id}`;
      byId(root, 'attempts-summary').replaceChildren(
        badge(d.status), ` ${d.event} → ${d.endpoint_id}`,
        d.next_attempt_at ? `, next attempt ${fmtTime(d.next_attempt_at)}` : '');
      byId(root, 'attempts-rows').replaceChildren(...(d.attempts || []).map((a) => el('tr', {},
        el('td', { class: 'num', text: String(a.attempt) }),
        el('td', { text: fmtTime(a.started_at) }),
        el('td', { class: 'num', text: a.status_code === null || a.status_code === undefined ? '—' : String(a.status_code) }),
        el('td', { class: 'num', text: `${a.duration_ms} ms` }),
        el('td', { class: 'error-text', text: a.error || '' }),
        el('td', {}, el('code', { class: 'excerpt', text: a.response_excerpt || '' })))));
      section.hidden = false;
      section.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      notice(`Attempts of ${id}: ${describe(e)}`, true);
    }
  }

  status.addEventListener('change', refilter);
  for (const input of [endpoint, connection]) {
    input.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(refilter, 300);
    });
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        clearTimeout(typing);
        refilter();
      }
    });
  }
  byId(root, 'replay-failed').addEventListener('click', replayFailed);
  byId(root, 'attempts-close').addEventListener('click', () => { byId(root, 'attempts').hidden = true; });
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    cursor = nextCursor;
    shown = '';
    refresh();
  });
  first.addEventListener('click', refilter);
  return { root, refresh, tick: refresh };
}

// Endpoints: state, circuit, recent success, and the operator's levers.
function endpointsView() {
  const root = mountView('endpoints');
  const rows = byId(root, 'endpoints-rows');
  let shown = '';
  let busy = false;
  let ticks = 0;

  async function successRate(ep) {
    try {
      const q = new URLSearchParams({ endpoint_id: ep.id, limit: '100' });
      const list = await api('GET', `/v1/deliveries?${q}`);
      const tried = list.data.filter((d) => d.attempt_count > 0);
      if (!tried.length) return '—';
      const ok = tried.filter((d) => d.status === 'succeeded').length;
      return `${Math.round((100 * ok) / tried.length)}% of ${tried.length}`;
    } catch (e) {
      return '?';
    }
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const list = await api('GET', '/v1/endpoints?limit=500');
      // One list request per endpoint: bounded to the first 100 rows of the table.
      const rates = await Promise.all(list.data.map((ep, i) => (i < 100 ? successRate(ep) : '—')));
      const key = JSON.stringify([list, rates]);
      if (key !== shown) {
        shown = key;
        rows.replaceChildren(...list.data.map((ep, i) => row(ep, rates[i])));
        byId(root, 'endpoints-empty').hidden = list.data.length > 0;
      }
    } catch (e) {
      notice(`Endpoints: ${describe(e)}`, true);
    } finally {
      busy = false;
    }
  }

  function row(ep, rate) {
    const enabled = ep.enabled ? 'yes' : `no${ep.disabled_reason ? ` — ${ep.disabled_reason}` : ''}`;
    const toggle = ep.enabled
      ? el('button', { type: 'button', text: 'Pause', onclick: () => setEnabled(ep, false) })
      : el('button', { type: 'button', text: 'Resume', onclick: () => setEnabled(ep, true) });
    return el('tr', { 'data-id': ep.id },
      el('td', { class: 'url', text: ep.url }),
      el('td', { text: enabled }),
      // `circuit` comes with the circuit breaker (CONTRACT section 9); older servers omit it.
      el('td', {}, ep.circuit ? badge(ep.circuit) : '—'),
      el('td', { class: 'num', text: rate }),
      el('td', { class: 'mono', text: ep.id }),
      el('td', { class: 'actions' }, toggle, ' ',
        el('button', { type: 'button', text: 'Recover', onclick: () => recover(ep) }), ' ',
        el('button', { type: 'button', text: 'Rotate secret', onclick: () => rotate(ep) })));
  }

  async function setEnabled(ep, enabled) {
    try {
      await api('PATCH', `/v1/endpoints/${encodeURIComponent(ep.id)}`, { enabled });
      notice(`${ep.id} ${enabled ? 'resumed' : 'paused'}.`);
    } catch (e) {
      notice(`${ep.id}: ${describe(e)}`, true);
    }
    shown = '';
    refresh();
  }

  function localValue(ms) {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }

  async function recover(ep) {
    const since = el('input', { type: 'datetime-local', value: localValue(Date.now() - 86400000) });
    const until = el('input', { type: 'datetime-local', value: localValue(Date.now() + 60000) });
    const window = () => ({
      since: Math.floor(Date.parse(since.value) / 1000),
      until: Math.floor(Date.parse(until.value) / 1000),
    });
    const count = async () => {
      try {
        const r = await api('POST', `/v1/endpoints/${encodeURIComponent(ep.id)}/recover`,
          { ...window(), dry_run: true });
        setConfirmable(r.matched > 0, `${r.matched} failed ${r.matched === 1 ? 'delivery' : 'deliveries'} of ${ep.url} in this window.`);
      } catch (e) {
        setConfirmable(false, describe(e));
      }
    };
    since.addEventListener('change', count);
    until.addEventListener('change', count);
    const answer = confirmDialog({
      title: `Recover ${ep.id}`,
      text: 'Counting…',
      fields: [field('Since', since), field('Until', until)],
    });
    count();
    if (!(await answer)) return;
    try {
      const r = await api('POST', `/v1/endpoints/${encodeURIComponent(ep.id)}/recover`, window());
      notice(`Recover ${ep.id}: ${r.queued} of ${r.matched} failed deliveries queued again.`);
    } catch (e) {
      notice(`Recover ${ep.id}: ${describe(e)}`, true);
    }
  }

  async function rotate(ep) {
    const grace = el('input', { type: 'text', value: '24h', spellcheck: 'false' });
    const ok = await confirmDialog({
      title: `Rotate the secret of ${ep.id}`,
      text: 'A new secret signs from now on; the old one keeps signing too during the grace period.',
      fields: [field('Grace', grace)],
    });
    if (!ok) return;
    try {
      const r = await api('POST', `/v1/endpoints/${encodeURIComponent(ep.id)}/secret/rotate`,
        { grace: grace.value.trim() });
      await confirmDialog({
        title: 'New secret',
        text: [`The new secret of ${ep.id} (shown once; the old one signs until ${fmtTime(r.grace_until)}):`,
          el('br'), el('code', { class: 'secret', text: r.secret })],
        confirmable: false,
        cancelLabel: 'Close',
      });
    } catch (e) {
      notice(`Rotate ${ep.id}: ${describe(e)}`, true);
    }
  }

  return { root, refresh, tick: () => { if (++ticks % 2 === 0) refresh(); } };
}

// Connections: one connection's status and timeline, and a consumer's connections.
function connectionsView() {
  const root = mountView('connections');
  const cid = byId(root, 'c-id');
  const kid = byId(root, 'k-id');

  async function showConnection(id) {
    cid.value = id;
    const box = byId(root, 'connection');
    try {
      const c = await api('GET', `/v1/connections/${encodeURIComponent(id.trim())}`);
      byId(root, 'c-status').replaceChildren(badge(c.status));
      byId(root, 'c-consumer').replaceChildren(el('button', {
        type: 'button', class: 'link', text: c.consumerid, title: 'List this consumer\'s connections',
        onclick: () => showConsumer(c.consumerid),
      }));
      byId(root, 'c-updated').textContent = fmtTime(c.updated_at);
      byId(root, 'history-rows').replaceChildren(...(c.history || []).map((h) => el('tr', {},
        el('td', { text: fmtTime(h.at) }), el('td', { text: h.event }),
        el('td', {}, badge(h.status || '—')), el('td', { class: 'mono', text: h.event_id || '' }))));
      box.hidden = false;
      notice('');
    } catch (e) {
      box.hidden = true;
      notice(e.status === 404 ? `No connection ${id} is known (or its history has expired).` : describe(e), true);
    }
  }

  async function showConsumer(id) {
    kid.value = id;
    const box = byId(root, 'consumer');
    try {
      const list = await api('GET', `/v1/consumers/${encodeURIComponent(id.trim())}/connections`);
      byId(root, 'consumer-rows').replaceChildren(...list.data.map((c) => el('tr', {},
        el('td', {}, el('button', {
          type: 'button', class: 'link mono', text: c.connectionid,
          onclick: () => showConnection(c.connectionid),
        })),
        el('td', {}, badge(c.status)), el('td', { text: fmtTime(c.updated_at) }))));
      byId(root, 'consumer-title').textContent = `Connections of consumer ${id} (${list.data.length})`;
      box.hidden = false;
    } catch (e) {
      box.hidden = true;
      notice(`Consumer ${id}: ${describe(e)}`, true);
    }
  }

  byId(root, 'connection-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    showConnection(cid.value.trim());
  });
  byId(root, 'consumer-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    showConsumer(kid.value.trim());
  });
  return { root, refresh: () => {}, tick: () => {} };
}

// ---- metrics (Health) -------------------------------------------------------------------

// Prometheus text format: name{labels} value. Only what Health shows is kept.
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function metricSum(samples, name, pred = () => true) {
  let found = false;
  let sum = 0;
  for (const s of samples) {
    if (s.name === name && pred(s.labels)) {
      found = true;
      sum += s.value;
    }
  }
  return found ? sum : null;
}

const metrics = { samples: [], last: null, error: '', timer: 0 };

async function sampleMetrics() {
  try {
    const r = await publicGet('/metrics');
    if (r.status === 401) {
      metrics.error = 'The metrics need their own token (DISPATCHER_METRICS_TOKEN), which this page does not hold.';
      clearInterval(metrics.timer);
      return;
    }
    if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
    const parsed = parseMetrics(r.text);
    metrics.last = parsed;
    metrics.error = '';
    const now = Date.now();
    metrics.samples.push({
      t: now,
      ok: metricSum(parsed, 'dispatcher_attempts_total', (l) => l.outcome === 'success') || 0,
      bad: metricSum(parsed, 'dispatcher_attempts_total', (l) => l.outcome !== 'success') || 0,
    });
    while (metrics.samples.length && metrics.samples[0].t < now - CHART_WINDOW_MS) metrics.samples.shift();
  } catch (e) {
    metrics.error = `Metrics: ${e.message}`;
  }
}

function rates() {
  const out = [];
  const s = metrics.samples;
  for (let i = 1; i < s.length; ++i) {
    const dt = (s[i].t - s[i - 1].t) / 1000;
    // A restarted process starts its counters at zero again: no negative rates.
    out.push({ t: s[i].t, ok: Math.max(0, s[i].ok - s[i - 1].ok) / dt, bad: Math.max(0, s[i].bad - s[i - 1].bad) / dt });
  }
  return out;
}

function drawChart(canvas, points) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  const pad = { l: 40, r: 8, t: 8, b: 18 };
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px sans-serif';
  ctx.fillStyle = '#5b6573';
  ctx.strokeStyle = '#d5dae1';
  const max = Math.max(1, ...points.map((p) => Math.max(p.ok, p.bad)));
  const now = Date.now();
  const x = (t) => pad.l + ((t - (now - CHART_WINDOW_MS)) / CHART_WINDOW_MS) * (w - pad.l - pad.r);
  const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b);
  ctx.beginPath();
  for (const v of [0, max / 2, max]) {
    ctx.moveTo(pad.l, y(v));
    ctx.lineTo(w - pad.r, y(v));
    ctx.fillText(v >= 10 ? v.toFixed(0) : v.toFixed(1), 4, y(v) + 4);
  }
  ctx.stroke();
  for (let m = 0; m <= 5; ++m) ctx.fillText(m === 0 ? 'now' : `-${m}m`, x(now - m * 60000) - (m === 0 ? 20 : 8), h - 4);
  for (const [key, colour] of [['ok', '#2e7d32'], ['bad', '#c62828']]) {
    ctx.beginPath();
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    points.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p[key])) : ctx.moveTo(x(p.t), y(p[key]))));
    ctx.stroke();
  }
  ctx.lineWidth = 1;
}

function healthView() {
  const root = mountView('health');
  const set = (id, text) => { byId(root, id).textContent = text; };
  const gauge = (name, unit = '') => {
    const v = metrics.last && metricSum(metrics.last, name);
    if (Number.isNaN(v)) return 'unknown (Redis cannot tell now)';
    return v === null || v === undefined ? '— (not reported)' : `${v}${unit}`;
  };

  async function refresh() {
    try {
      const r = await publicGet('/readyz');
      let body = {};
      try { body = JSON.parse(r.text); } catch (e) { body = {}; }
      const ready = byId(root, 'h-ready');
      ready.replaceChildren(badge(r.status === 200 ? 'ready' : 'unavailable'),
        body.reason ? ` ${body.reason}` : '');
    } catch (e) {
      set('h-ready', 'the server did not answer');
    }
    set('h-lag', gauge('dispatcher_stream_lag', ' entries'));
    set('h-pending', gauge('dispatcher_stream_pending', ' entries'));
    set('h-due', gauge('dispatcher_deliveries_due'));
    set('h-oldest', gauge('dispatcher_oldest_due_seconds', ' s'));
    set('h-circuits', gauge('dispatcher_endpoint_circuit_open'));
    set('h-received', gauge('dispatcher_events_received_total'));
    set('h-created', gauge('dispatcher_deliveries_created_total'));
    set('h-succeeded', gauge('dispatcher_deliveries_succeeded_total'));
    set('h-failed', gauge('dispatcher_deliveries_failed_total'));
    const points = rates();
    drawChart(byId(root, 'rate-chart'), points);
    const lastRate = points[points.length - 1];
    set('rate-now', lastRate ? `— now ${lastRate.ok.toFixed(1)}/s succeeded, ${lastRate.bad.toFixed(1)}/s failed` : '— collecting');
    const per = new Map();
    for (const s of metrics.last || []) {
      if (s.name !== 'dispatcher_attempts_total' || !s.labels.endpoint) continue;
      const e = per.get(s.labels.endpoint) || { ok: 0, bad: 0 };
      if (s.labels.outcome === 'success') e.ok += s.value;
      else e.bad += s.value;
      per.set(s.labels.endpoint, e);
    }
    const sorted = [...per.entries()].sort((a, b) => b[1].bad - a[1].bad);
    byId(root, 'failures-rows').replaceChildren(...sorted.map(([ep, c]) => el('tr', {},
      el('td', { class: 'mono', text: ep }), el('td', { class: 'num', text: String(c.bad) }),
      el('td', { class: 'num', text: String(c.ok) }))));
    set('metrics-note', metrics.error ||
      'Counters are this instance\'s since it started; the chart covers the time this page has been open.');
  }

  return { root, refresh, tick: refresh };
}

// ---- sign in and out --------------------------------------------------------------------

let ticker = 0;

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(ticker);
  clearInterval(metrics.timer);
  document.getElementById('nav').hidden = true;
  document.getElementById('sign-out').hidden = true;
  const form = document.getElementById('sign-in');
  document.getElementById('main').replaceChildren(form);
  current = null;
  notice(message || '', Boolean(message));
}

function start() {
  views.deliveries = deliveriesView();
  views.endpoints = endpointsView();
  views.connections = connectionsView();
  views.health = healthView();
  document.getElementById('nav').hidden = false;
  document.getElementById('sign-out').hidden = false;
  notice('');
  sampleMetrics();
  metrics.timer = setInterval(sampleMetrics, METRICS_EVERY_MS);
  ticker = setInterval(() => { if (current && !document.hidden) views[current].tick(); }, REFRESH_MS);
  show('deliveries');
}

async function signIn(ev) {
  ev.preventDefault();
  const input = document.getElementById('token');
  const err = document.getElementById('sign-in-error');
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  try {
    await api('GET', '/v1/endpoints?limit=1');
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    err.textContent = e.status === 401 ? 'That token was refused.' : describe(e);
    return;
  }
  input.value = '';
  err.textContent = '';
  start();
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('sign-in').addEventListener('submit', signIn);
  document.getElementById('sign-out').addEventListener('click', () => signOut());
  for (const b of document.querySelectorAll('#nav button')) {
    b.addEventListener('click', () => show(b.dataset.view));
  }
  if (token()) start();
});
