// The public status page: live state of each provider and model, 90-day uptime bars, incidents, and
// latency and error-rate over time. Each part reads its own endpoint and says "not available" when
// the gateway does not serve it.
const $ = (id) => document.getElementById(id);
const NA = 'not available';
const samples = new Map(); // provider -> [{at, latency, errorRate}]
const MAX_SAMPLES = 120;

async function get(path) {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    if (!res.ok) return null;
    return await res.json();
  } catch {
    return null;
  }
}

function na(el, what) {
  el.innerHTML = '';
  const p = document.createElement('p');
  p.className = 'na';
  p.textContent = `${what}: ${NA}.`;
  el.append(p);
}

const label = { operational: 'All systems operational', degraded: 'Degraded performance', partial_outage: 'Partial outage', major_outage: 'Major outage' };

function renderLive(live, health) {
  const o = $('overall');
  o.className = `overall ${live.status}`;
  o.textContent = label[live.status] ?? live.status;
  const div = $('providers');
  div.textContent = '';
  const table = document.createElement('table');
  table.innerHTML = '<thead><tr><th scope="col">provider</th><th scope="col">model</th><th scope="col">status</th><th scope="col">circuit</th></tr></thead>';
  const tb = document.createElement('tbody');
  for (const p of live.providers) {
    const hp = health?.providers?.find((x) => x.name === p.name);
    const tr = document.createElement('tr');
    tr.innerHTML = `<th scope="row"></th><td>all</td><td class="s-${p.status}"></td><td></td>`;
    tr.children[0].textContent = p.name;
    tr.children[2].textContent = p.status + (hp ? ` (${hp.avg_response_time_ms ?? '?'} ms, ${hp.error_rate ?? '?'}% errors)` : '');
    tb.append(tr);
    for (const m of p.models) {
      const r = document.createElement('tr');
      r.innerHTML = `<td></td><td></td><td class="s-${m.status}"></td><td></td>`;
      r.dataset.model = m.key;
      r.children[1].textContent = m.name;
      r.children[2].textContent = m.status;
      r.children[3].textContent = m.breakers.map((b) => b.state).join(', ') || 'closed';
      if (m.breakers.some((b) => b.state !== 'closed')) r.children[3].className = `s-${m.breakers.find((b) => b.state !== 'closed').state}`;
      tb.append(r);
    }
  }
  table.append(tb);
  div.append(table);
  const down = live.providers.filter((p) => p.status !== 'healthy');
  const banner = $('banner');
  banner.classList.toggle('hidden', down.length === 0);
  if (down.length) banner.textContent = `Degraded mode: ${down.map((p) => `${p.name} is ${p.status}`).join('; ')}. Requests fail over to the other providers; answers may come from a fallback model.`;
}

function renderUptime(report) {
  const div = $('uptime');
  if (!report?.providers) return na(div, 'Uptime history');
  div.textContent = '';
  for (const p of report.providers) {
    const h = document.createElement('h3');
    const pct = p.uptime_percentage ?? p.uptimePercentage;
    h.textContent = `${p.name}${pct !== undefined ? `: ${pct}%` : ''}`;
    const bars = document.createElement('div');
    bars.className = 'bars';
    bars.setAttribute('role', 'img');
    const days = (p.daily ?? []).slice(-90);
    bars.setAttribute('aria-label', `${p.name} uptime per day, last ${days.length} days`);
    for (const d of days) {
      const v = d.uptime_percentage ?? d.uptimePercentage;
      const s = document.createElement('span');
      s.className = v >= 99.9 ? 'up' : v >= 99 ? 'minor' : 'major';
      s.title = `${d.date}: ${v}%`;
      bars.append(s);
    }
    div.append(h, bars);
  }
}

function renderIncidents(body) {
  const ol = $('incidents');
  ol.textContent = '';
  if (!body?.incidents) {
    const li = document.createElement('li');
    li.className = 'na';
    li.textContent = `Incident history: ${NA}.`;
    ol.append(li);
    return;
  }
  if (body.incidents.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'No incidents in the last 30 days.';
    ol.append(li);
  }
  for (const i of body.incidents) {
    const li = document.createElement('li');
    li.dataset.incident = i.id;
    const d = document.createElement('details');
    const s = document.createElement('summary');
    s.textContent = `${i.timestamp ?? ''} ${i.impact ?? ''}: ${(i.affected_services ?? []).join(', ')}${i.duration_minutes !== undefined ? ` (${i.duration_minutes} min)` : ' (ongoing)'}`;
    const p = document.createElement('p');
    p.textContent = `${i.resolution ?? ''} ${i.id}`;
    d.append(s, p);
    li.append(d);
    ol.append(li);
  }
}

function sample(health) {
  const now = Date.now();
  for (const p of health?.providers ?? []) {
    const arr = samples.get(p.name) ?? [];
    arr.push({ at: now, latency: p.avg_response_time_ms ?? 0, errorRate: p.error_rate ?? 0 });
    if (arr.length > MAX_SAMPLES) arr.shift();
    samples.set(p.name, arr);
  }
}

function renderCharts(health) {
  const div = $('charts');
  if (!health?.providers) return na(div, 'Latency and error-rate history');
  div.textContent = '';
  const NS = 'http://www.w3.org/2000/svg';
  for (const [name, arr] of samples) {
    for (const [field, unit] of [['latency', 'ms'], ['errorRate', '% errors']]) {
      const max = Math.max(1, ...arr.map((s) => s[field]));
      const svg = document.createElementNS(NS, 'svg');
      svg.setAttribute('width', '440');
      svg.setAttribute('height', '70');
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-label', `${name} ${unit} over time, latest ${arr.at(-1)?.[field] ?? 0}`);
      const pts = arr.map((s, i) => `${(i / Math.max(1, MAX_SAMPLES - 1)) * 400 + 30},${60 - (s[field] / max) * 50}`).join(' ');
      svg.innerHTML = `<polyline fill="none" stroke="#0b5cad" stroke-width="1.5" points="${pts}"/><text x="0" y="12">${name} ${unit} (max ${Math.round(max)})</text>`;
      div.append(svg);
    }
  }
}

async function refresh() {
  const [live, health, uptime, incidents] = await Promise.all([get('/status/api/live'), get('/v1/health'), get('/v1/uptime?days=90'), get('/v1/incidents?days=30')]);
  if (live) renderLive(live, health);
  else $('overall').textContent = `Live status: ${NA}.`;
  sample(health);
  renderCharts(health);
  renderUptime(uptime);
  renderIncidents(incidents);
}

// The health stream, where served, refreshes at once on a provider going down or recovering.
function stream() {
  try {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/health/stream`);
    ws.onmessage = () => void refresh();
    ws.onerror = () => {};
  } catch {}
}

void refresh();
setInterval(refresh, 1000);
stream();
