// The visualizer page: live actors over the /visualizer/ws feed, each drawn on its machine's statechart.
import { draw, flash, highlight } from './chart.js';

const $ = (id) => document.getElementById(id);
const FAULTS = ['rate_limit', 'quota_exceeded', 'model_overloaded', 'server_error', 'timeout', 'connection_error', 'auth_error', 'context_length_exceeded', 'content_filter', 'bad_request', 'latency', 'no_response', 'stream_cut', 'stream_stall', 'malformed_chunk'];
const HISTORY = 100;

const actors = new Map(); // actorId -> { actorId, systemId, machine, state, status, history }
const charts = new Map(); // machine id -> chart
let key = sessionStorage.getItem('parrot-admin-key') ?? '';
let selected = null; // actorId
let shownMachine = null;
let svg = null;
let scrubAt = null; // null: live; else an index into the selected actor's history

const headers = () => (key ? { authorization: `Bearer ${key}` } : {});
async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { 'content-type': 'application/json', ...headers(), ...(init.headers ?? {}) } });
  if (res.status === 401 || res.status === 403) {
    $('keyform').hidden = false;
    throw new Error('admin key required');
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? res.statusText);
  return body;
}

const nameOf = (a) => a.systemId ?? `${a.machine} ${requestIdOf(a) ?? a.actorId}`;
const requestIdOf = (a) => a.history.at(-1)?.context?.payload ?? null;
const stateText = (v) => (typeof v === 'string' ? v : v === undefined || v === null ? '?' : JSON.stringify(v));
const time = (ms) => new Date(ms).toISOString().slice(11, 23);
const eventName = (e) => e.replace(/^xstate\.(done|error)\.actor\./, '$1: ').replace(/^xstate\.after\.([^.]+)\..*/, 'after $1');

// What the transition changed in the actor's context (its first few fields for the first one).
function summary(t, prev) {
  const fields = Object.entries(t.payload ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
  const changed = contextChange(t, prev);
  return [fields, changed].filter(Boolean).join(' · ');
}

function contextChange(t, prev) {
  const c = t.context;
  if (!c || typeof c !== 'object') return '';
  if (t.machine === 'failover') {
    const last = c.attempts?.at(-1);
    return last ? `attempt ${last.attempt} ${last.provider}/${last.model} ${last.ok ? 'ok' : last.skipped ?? last.kind ?? ''}` : `step ${c.stepIndex}`;
  }
  const before = prev?.context ?? {};
  const keys = Object.entries(c).filter(([k, v]) => (v === null || typeof v !== 'object') && (!prev || before[k] !== v)).slice(0, 4);
  return keys.map(([k, v]) => `${k}=${v}`).join(' ');
}

function renderList() {
  const q = $('filter').value.trim().toLowerCase();
  const ul = $('actors');
  ul.textContent = '';
  const list = [...actors.values()].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  for (const a of list) {
    const label = `${nameOf(a)} ${stateText(a.state)}`;
    if (q && !label.toLowerCase().includes(q)) continue;
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.actor = a.systemId ?? a.actorId;
    b.setAttribute('aria-current', String(a.actorId === selected));
    b.innerHTML = '';
    b.append(nameOf(a), ' ');
    const st = document.createElement('span');
    st.className = 'st';
    st.textContent = stateText(a.state);
    b.append(st);
    b.addEventListener('click', () => select(a.actorId));
    li.append(b);
    ul.append(li);
  }
  const targets = $('ch-target');
  if (targets.options.length === 0) {
    const names = list.filter((a) => a.systemId?.startsWith('provider:') || a.systemId?.startsWith('model:')).map((a) => a.systemId.slice(a.systemId.indexOf(':') + 1));
    for (const n of names.sort()) targets.append(new Option(n, n));
  }
}

async function showMachine(machine) {
  const chart = charts.get(machine);
  if (!chart) return;
  shownMachine = machine;
  $('machine').value = machine;
  svg = await draw(chart, $('chart'));
  $('chart').setAttribute('aria-label', `statechart of ${chart.title}`);
  paint();
}

function paint() {
  const a = actors.get(selected);
  if (!svg) return;
  if (!a || a.machine !== shownMachine) {
    highlight(svg, shownMachine, undefined);
    return;
  }
  const state = scrubAt === null ? a.state : a.history[scrubAt]?.to;
  highlight(svg, a.machine, state);
  // A wide chart scrolls to where the actor is.
  const here = [...svg.querySelectorAll('g.state.active')].at(-1);
  if (here) {
    const box = $('chart');
    const r = here.getBoundingClientRect();
    const c = box.getBoundingClientRect();
    if (r.right > c.right || r.left < c.left) box.scrollLeft += r.left - c.left - c.width / 2 + r.width / 2;
    if (r.bottom > c.bottom || r.top < c.top) box.scrollTop += r.top - c.top - c.height / 2 + r.height / 2;
  }
  $('selected').textContent = `${nameOf(a)}: ${stateText(state)}${scrubAt === null ? ' (live)' : ` (at ${time(a.history[scrubAt].at)})`}`;
}

function renderLog() {
  const a = actors.get(selected);
  const tbody = $('log');
  tbody.textContent = '';
  const hist = a?.history ?? [];
  const scrub = $('scrub');
  scrub.max = String(Math.max(0, hist.length - 1));
  if (scrubAt === null) scrub.value = scrub.max;
  $('scrubpos').textContent = hist.length ? `${(scrubAt ?? hist.length - 1) + 1} / ${hist.length}${scrubAt === null ? ' (live)' : ''}` : 'no transitions yet';
  hist.forEach((t, i) => {
    const tr = document.createElement('tr');
    if (i === (scrubAt ?? hist.length - 1)) tr.className = 'current';
    for (const v of [time(t.at), eventName(t.event), stateText(t.from), stateText(t.to), summary(t, hist[i - 1])]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    tbody.prepend(tr);
  });
  renderTimeline(a);
}

function renderTimeline(a) {
  const ol = $('timeline');
  ol.textContent = '';
  if (!a || a.machine !== 'failover') {
    const li = document.createElement('li');
    li.textContent = 'Select a request actor (failover) to follow its attempts, failovers and hedges.';
    ol.append(li);
    return;
  }
  const t0 = a.history[0]?.at ?? 0;
  for (const t of a.history) {
    const li = document.createElement('li');
    li.textContent = `+${t.at - t0} ms ${stateText(t.from)} → ${stateText(t.to)} on ${t.event}`;
    ol.append(li);
  }
  for (const r of a.history.at(-1)?.context?.attempts ?? []) {
    const li = document.createElement('li');
    li.className = r.ok ? 'ok' : 'fail';
    li.textContent = `attempt ${r.attempt}${r.hedge ? ' (hedge)' : ''}: ${r.provider}/${r.model} ${r.ok ? 'succeeded' : `failed: ${r.skipped ?? r.kind}`} in ${r.latencyMs} ms`;
    ol.append(li);
  }
}

function select(actorId) {
  selected = actorId;
  scrubAt = null;
  const a = actors.get(actorId);
  renderList();
  renderLog();
  if (a && a.machine !== shownMachine) void showMachine(a.machine);
  else paint();
}

function onTransition(t) {
  let a = actors.get(t.actorId);
  if (!a) {
    a = { actorId: t.actorId, systemId: t.systemId, machine: t.machine, state: t.to, status: t.status, history: [] };
    actors.set(t.actorId, a);
  }
  a.state = t.to;
  a.status = t.status;
  a.history.push(t);
  if (a.history.length > HISTORY) a.history.shift();
  if (t.actorId === selected) {
    if (svg && scrubAt === null && a.machine === shownMachine) {
      flash(svg, a.machine, t.event, t.from, t.to);
      highlight(svg, a.machine, t.to);
      paint();
    }
    renderLog();
  }
  scheduleList();
}

let listTimer = null;
function scheduleList() {
  listTimer ??= setTimeout(() => {
    listTimer = null;
    renderList();
  }, 100);
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/visualizer/ws`);
  ws.onopen = () => {
    if (key) ws.send(JSON.stringify({ key }));
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'hello') {
      $('conn').textContent = 'live';
      for (const a of msg.actors) actors.set(a.actorId, a);
      renderList();
      const want = new URLSearchParams(location.search).get('actor');
      const found = want && [...actors.values()].find((a) => a.systemId === want || a.actorId === want);
      if (found) select(found.actorId);
    } else if (msg.type === 'transition') onTransition(msg.t);
  };
  ws.onclose = (e) => {
    $('conn').textContent = e.code === 4403 || e.code === 4401 ? 'admin key required' : 'disconnected; retrying…';
    if (e.code === 4403 || e.code === 4401) $('keyform').hidden = false;
    else setTimeout(connect, 1000);
  };
}

async function refreshFaults() {
  try {
    const { data } = await api('/admin/chaos');
    const ul = $('faults');
    ul.textContent = '';
    for (const f of data) {
      const li = document.createElement('li');
      li.textContent = `${f.fault} on ${f.target}: ${f.injected} injected${f.remaining_ms !== null ? `, ${Math.ceil(f.remaining_ms / 1000)} s left` : ''} `;
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Remove';
      b.setAttribute('aria-label', `Remove ${f.fault} fault on ${f.target}`);
      b.addEventListener('click', async () => {
        await api(`/admin/chaos/${f.id}`, { method: 'DELETE' });
        void refreshFaults();
      });
      li.append(b);
      ul.append(li);
    }
  } catch (err) {
    $('chaosmsg').textContent = `chaos not available: ${err.message}`;
  }
}

async function start() {
  for (const f of FAULTS) $('ch-fault').append(new Option(f, f));
  $('filter').addEventListener('input', renderList);
  $('machine').addEventListener('change', (e) => void showMachine(e.target.value));
  $('scrub').addEventListener('input', (e) => {
    const a = actors.get(selected);
    const i = Number(e.target.value);
    scrubAt = a && i < a.history.length - 1 ? i : null;
    renderLog();
    paint();
  });
  $('keyform').addEventListener('submit', (e) => {
    e.preventDefault();
    key = $('adminkey').value;
    sessionStorage.setItem('parrot-admin-key', key);
    location.reload();
  });
  $('chaosform').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { target: $('ch-target').value, fault: $('ch-fault').value, duration_s: Number($('ch-seconds').value) };
    if (body.fault === 'latency') body.latency_ms = 2000;
    try {
      const f = await api('/admin/chaos', { method: 'POST', body: JSON.stringify(body) });
      $('chaosmsg').textContent = `injected ${f.fault} into ${f.target} for ${body.duration_s} s (${f.id})`;
    } catch (err) {
      $('chaosmsg').textContent = `could not inject: ${err.message}`;
    }
    void refreshFaults();
  });
  try {
    const { data } = await api('/visualizer/api/charts');
    for (const c of data) {
      charts.set(c.machine, c);
      $('machine').append(new Option(c.title, c.machine));
    }
    await showMachine(data[0].machine);
  } catch (err) {
    $('conn').textContent = err.message;
    return;
  }
  connect();
  void refreshFaults();
  setInterval(refreshFaults, 2000);
}

void start();
