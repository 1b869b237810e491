// Lays a statechart (the gateway's JSON of a machine definition) out with elkjs and draws it as SVG.
// Nested states are nested boxes; each transition is an arrow labelled with its event, guard and delay.

const SVG = 'http://www.w3.org/2000/svg';
const CHAR_W = 7;

function el(name, attrs = {}, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

export function edgeText(e) {
  let s = e.label;
  if (e.guard) s += ` [${e.guard}]`;
  return s;
}

const LINE_H = 14;

// Transitions between the same two states are drawn as one arrow with one label line each:
// a state with six self-transitions gets one loop, not six.
function toElk(node, groups) {
  const n = {
    id: node.id,
    labels: [{ text: node.key, width: node.key.length * CHAR_W + 8, height: 16 }],
    layoutOptions: { 'elk.padding': '[top=28,left=12,bottom=12,right=12]', 'elk.nodeLabels.placement': 'INSIDE V_TOP H_CENTER' },
  };
  if (node.children.length > 0) n.children = node.children.map((c) => toElk(c, groups));
  else {
    n.width = Math.max(90, node.key.length * CHAR_W + 24);
    n.height = 36;
  }
  for (const e of node.edges) {
    const k = `${e.source} -> ${e.target}`;
    const g = groups.get(k) ?? { id: `e${groups.size}`, source: e.source, target: e.target, defs: [] };
    const text = edgeText(e);
    if (!g.defs.some((d) => edgeText(d) === text)) g.defs.push(e);
    groups.set(k, g);
  }
  return n;
}

function elkEdges(groups) {
  return [...groups.values()].map((g) => {
    const lines = g.defs.map(edgeText);
    const width = Math.max(...lines.map((l) => l.length)) * 6.2 + 4;
    return { id: g.id, sources: [g.source], targets: [g.target], labels: [{ text: lines.join('\n'), width, height: lines.length * LINE_H }] };
  });
}

/** Layout of `chart`, memoised per machine (definitions do not change while the page is open). */
const layouts = new Map();
export async function layout(chart) {
  if (layouts.has(chart.machine)) return layouts.get(chart.machine);
  const groups = new Map();
  const root = toElk(chart.root, groups);
  const edges = elkEdges(groups);
  const graph = {
    id: '__root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.spacing.nodeNode': '30',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
      'elk.json.edgeCoords': 'ROOT',
      'elk.json.shapeCoords': 'ROOT',
    },
    children: [root],
    edges,
  };
  // eslint-disable-next-line no-undef
  const laid = await new ELK().layout(graph);
  const result = { laid, groups: new Map([...groups.values()].map((g) => [g.id, g])) };
  layouts.set(chart.machine, result);
  return result;
}

/** Draws `chart` into `container`; returns the SVG. */
export async function draw(chart, container) {
  const { laid, groups } = await layout(chart);
  const byId = new Map();
  const index = (n, depth) => {
    byId.set(n.id, { n, depth });
    for (const c of n.children ?? []) index(c, depth + 1);
  };
  index(chart.root, 0);
  container.textContent = '';
  const w = Math.ceil(laid.width ?? 800) + 20;
  const h = Math.ceil(laid.height ?? 400) + 20;
  // Scaled to the panel's width (never up, and never below 80%: past that the panel scrolls).
  const svg = el('svg', { width: Math.max(w * 0.8, Math.min(w, container.clientWidth || w)), viewBox: `-10 -10 ${w} ${h}`, preserveAspectRatio: 'xMinYMin meet' }, container);
  const title = el('title', {}, svg);
  title.textContent = `statechart of ${chart.machine}`;
  const defs = el('defs', {}, svg);
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
  el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#4a5360' }, marker);
  const states = el('g', {}, svg);
  const drawNode = (n, def) => {
    const g = el('g', { class: `state${n.children?.length ? ' compound' : ''}`, 'data-state-id': n.id }, states);
    el('rect', { x: n.x, y: n.y, width: n.width, height: n.height, rx: 8 }, g);
    // A final state has a double border, as in statechart notation.
    if (def && def.type === 'final') el('rect', { x: n.x + 3, y: n.y + 3, width: n.width - 6, height: n.height - 6, rx: 6, class: 'final' }, g);
    const t = el('text', { x: n.x + n.width / 2, y: n.y + (n.children?.length ? 18 : n.height / 2 + 4), 'text-anchor': 'middle', class: 'name' }, g);
    t.textContent = def ? def.key : n.id;
    for (const c of n.children ?? []) drawNode(c, byId.get(c.id)?.n);
  };
  for (const c of laid.children ?? []) drawNode(c, byId.get(c.id)?.n);
  const edgesG = el('g', {}, svg);
  for (const e of laid.edges ?? []) {
    const group = groups.get(e.id);
    const g = el('g', { class: 'edge', 'data-edge-id': e.id, 'data-events': group.defs.map((d) => d.event).join(' '), 'data-source': group.source, 'data-target': group.target }, edgesG);
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
      el('path', { d: `M${pts.map((p) => `${p.x},${p.y}`).join(' L')}`, 'marker-end': 'url(#arrow)' }, g);
    }
    for (const l of e.labels ?? []) {
      group.defs.forEach((def, i) => {
        const t = el('text', { x: l.x, y: (l.y ?? 0) + 11 + i * LINE_H, 'data-event': def.event }, g);
        t.textContent = edgeText(def);
        if (def.delay) {
          const d = el('title', {}, t);
          d.textContent = `delay ${def.delay}`;
        }
      });
    }
  }
  return svg;
}

/** The state node ids a state value is in: `open` in `breaker` -> [`breaker.open`]; nested values give every level. */
export function activeIds(machine, value, prefix = machine) {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [`${prefix}.${value}`];
  const out = [];
  for (const [k, v] of Object.entries(value)) out.push(`${prefix}.${k}`, ...activeIds(machine, v, `${prefix}.${k}`));
  return out;
}

/** Marks `value`'s states active in `svg`. */
export function highlight(svg, machine, value) {
  const ids = new Set(activeIds(machine, value));
  for (const g of svg.querySelectorAll('g.state')) g.classList.toggle('active', ids.has(g.dataset.stateId));
}

/** Flashes the transition `event` took from `from` to `to` (the one drawn edge that matches). */
export function flash(svg, machine, event, from, to) {
  const fromIds = new Set(activeIds(machine, from));
  const toIds = new Set(activeIds(machine, to));
  for (const g of svg.querySelectorAll('g.edge')) {
    if (g.dataset.events.split(' ').includes(event) && fromIds.has(g.dataset.source) && toIds.has(g.dataset.target)) {
      const label = g.querySelector(`text[data-event="${CSS.escape(event)}"]`);
      g.classList.add('fired');
      label?.classList.add('fired');
      setTimeout(() => (g.classList.remove('fired'), label?.classList.remove('fired')), 900);
      return;
    }
  }
}
