// The rfaas gateway UI: a small single-page app on the gateway's own REST API.
// Every value from the API is put on the page as text (textContent, never innerHTML), so
// function names, env values, log lines and response bodies cannot inject markup or script.
'use strict';

const API = new URL('api/system/', location.origin + '/ui/');
const main = document.getElementById('main');
const notice = document.getElementById('notice');
const nsSelect = document.getElementById('namespace');
let namespace = 'openfaas-fn';
let cleanup = [];   // what the current page must stop when the user leaves it
let flash = '';     // a message for the next page (after an action that navigates)

// ---------------------------------------------------------------- helpers --
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, statusText, text) {
    super(describeError(status, statusText, text));
    this.status = status;
  }
}

// The gateway answers errors in plain words; anything else (HTML, JSON) is not shown raw.
function describeError(status, statusText, text) {
  const t = (text || '').trim();
  const words = t && !/^[[{<]/.test(t) && t.length < 600 ? t : '';
  const what = status === 401 ? 'the gateway did not accept the credentials'
    : status === 0 ? 'the gateway did not answer' : (statusText || 'request failed');
  return words ? `${words} (${status} ${statusText || ''})`.replace(' )', ')') : `${what} (${status})`;
}

async function api(method, path, body, query) {
  const url = new URL(path, API);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, '', 'the gateway did not answer: ' + e.message);
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, response.statusText, text);
  return text ? JSON.parse(text) : null;
}

function show(message, kind) {
  notice.textContent = message;
  notice.className = kind || '';
  notice.hidden = !message;
}

function navigate(hash, message) {
  flash = message;
  location.hash = hash;
}

function fail(doing) {
  return (e) => show(`${doing}: ${e.message}`);
}

// An inline "are you sure" step before anything that changes the gateway.
function confirmStep(container, question, label, action) {
  container.replaceChildren(h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm' },
    h('span', {}, question),
    h('button', { class: 'danger', 'data-confirm': '', onclick: async (ev) => {
      ev.target.disabled = true;
      try { await action(); container.replaceChildren(); } catch (e) { container.replaceChildren(); show(`${question.replace(/\?$/, "")} failed: ${e.message}`); }
    } }, label),
    h('button', { onclick: () => container.replaceChildren() }, 'Cancel')));
}

const seconds = (s) => s === null || s === undefined ? '–'
  : s < 0.001 ? `${(s * 1e6).toFixed(0)} µs` : s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(2)} s`;
const rate = (r) => r >= 100 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2);
const fnUrl = (f) => `#/fn/${encodeURIComponent(f.namespace || namespace)}/${encodeURIComponent(f.name)}`;

function statusOf(f) {
  const desired = f.replicas || 0, ready = f.availableReplicas || 0;
  if (desired === 0) return ['Scaled to zero', 'zero'];
  if (f.scaling && f.scaling.pausedReplicas > 0 && ready === 0) return ['Paused (resumes on the next request)', 'zero'];
  if (ready >= desired) return ['Ready', 'ok'];
  if (ready > 0) return ['Degraded', 'warn'];
  return ['Starting', 'warn'];
}

function spark(series) {
  const max = Math.max(1, ...series);
  return h('span', { class: 'spark', 'aria-hidden': 'true' }, series.map((n) => {
    const bar = h('i');
    bar.style.height = `${Math.max(1, Math.round((n / max) * 18))}px`;
    return bar;
  }));
}

// POSIX shell single quotes: safe for any text.
const sq = (s) => /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;

// ------------------------------------------------------------------ pages --
async function functionsPage() {
  const table = h('tbody');
  main.replaceChildren(h('h1', {}, 'Functions'), h('table', { id: 'functions' },
    h('thead', {}, h('tr', {}, ['Name', 'Image', 'Replicas', 'Invocations', 'req/s (1 min)', 'p50', 'p99', 'Last 5 min', 'Status']
      .map((t, i) => h('th', { class: i >= 2 && i <= 6 ? 'num' : '' }, t)))), table),
  h('p', { class: 'muted' }, 'Latency and req/s come from the gateway\u2019s own counters over the last minute; the bars are requests per 10 s.'));
  const refresh = async () => {
    const [list, stats] = await Promise.all([api('GET', 'functions', undefined, { namespace }),
      api('GET', 'function-stats', undefined, { namespace })]);
    const byName = new Map(stats.map((s) => [s.name, s]));
    const rows = list.sort((a, b) => a.name.localeCompare(b.name)).map((f) => {
      const s = byName.get(f.name);
      const m = s ? s.lastMinute : null;
      const [label, cls] = statusOf(f);
      return h('tr', { 'data-function': f.name },
        h('td', {}, h('a', { href: fnUrl(f) }, f.name)),
        h('td', { class: 'mono' }, f.image),
        h('td', { class: 'num' }, `${f.availableReplicas || 0}/${f.replicas || 0}`),
        h('td', { class: 'num' }, String(f.invocationCount || 0)),
        h('td', { class: 'num' }, m ? rate(m.requestsPerSecond) : '–'),
        h('td', { class: 'num' }, seconds(m && m.p50Seconds)),
        h('td', { class: 'num' }, seconds(m && m.p99Seconds)),
        h('td', {}, s ? spark(s.lastFiveMinutes.series) : ''),
        h('td', {}, h('span', { class: `badge ${cls}` }, label)));
    });
    table.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 9, class: 'muted' },
      `No functions in ${namespace}. `, h('a', { href: '#/deploy' }, 'Deploy one.')))]));
  };
  await refresh().catch(fail('Cannot list the functions'));
  poll(refresh, 2000, 'Cannot refresh the functions');
}

function poll(fn, ms, doing) {
  const timer = setInterval(() => fn().catch(fail(doing)), ms);
  cleanup.push(() => clearInterval(timer));
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function mapText(m) {
  const entries = Object.entries(m || {});
  return entries.length ? h('div', { class: 'mono' }, entries.map(([k, v]) => h('div', {}, `${k}=${v}`))) : '–';
}

// The function as `rfaas describe` shows it; secrets by name only (the API never has values).
function describe(f, ns, label, schedule) {
  const base = location.origin;
  const limits = (r) => r ? Object.entries(r).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(', ') || '–' : '–';
  const fields = [['Name', f.name], ['Namespace', f.namespace || ns], ['Status', label],
    ['Replicas', String(f.replicas || 0)], ['Available replicas', String(f.availableReplicas || 0)],
    ['Invocations', String(f.invocationCount || 0)], ['Image', f.image], ['Function process', f.envProcess || '–'],
    ['URL', `${base}/function/${f.name}.${f.namespace || ns}`],
    ['Async URL', `${base}/async-function/${f.name}.${f.namespace || ns}`],
    ['Labels', mapText(f.labels)], ['Annotations', mapText(f.annotations)],
    ['Constraints', (f.constraints || []).join(', ') || '–'], ['Environment', mapText(f.envVars)],
    ['Secrets', (f.secrets || []).join(', ') || '–'], ['Requests', limits(f.requests)], ['Limits', limits(f.limits)],
    ['Read-only root filesystem', f.readOnlyRootFilesystem ? 'yes' : 'no'], ['Created', f.createdAt || '–']];
  return h('dl', { class: 'kv', id: 'describe' }, fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    h('dt', {}, 'Schedule'), schedule);
}

async function functionPage(ns, name) {
  main.replaceChildren(h('h1', {}, name), h('p', { class: 'muted' }, 'Loading…'));
  const f = await api('GET', `function/${encodeURIComponent(name)}`, undefined, { namespace: ns });
  const [label, cls] = statusOf(f);
  const schedule = h('dd', { id: 'schedule' }, '…');
  const stats = h('div', { id: 'stats' });
  const confirmBox = h('div');
  const replicas = h('input', { type: 'number', min: 0, max: 10, value: f.replicas || 0, id: 'replicas', 'aria-label': 'Replicas' });
  main.replaceChildren(
    h('h1', {}, name, ' ', h('span', { class: `badge ${cls}` }, label)),
    h('div', { class: 'actions' },
      h('a', { href: `#/invoke/${encodeURIComponent(ns)}/${encodeURIComponent(name)}` }, 'Invoke'),
      h('a', { href: `#/logs/${encodeURIComponent(ns)}/${encodeURIComponent(name)}` }, 'Logs'),
      h('span', { class: 'inline' }, h('label', { for: 'replicas' }, 'Replicas'), replicas,
        h('button', { id: 'scale', onclick: () => {
          const n = Number(replicas.value);
          confirmStep(confirmBox, `Scale ${name} to ${n} replica${n === 1 ? '' : 's'}?`, 'Scale', async () => {
            await api('POST', `scale-function/${encodeURIComponent(name)}`, { serviceName: name, namespace: ns, replicas: n });
            show(`${name} scaled to ${n}.`, 'info');
            route();
          });
        } }, 'Scale…')),
      h('button', { class: 'danger', id: 'remove', onclick: () => confirmStep(confirmBox, `Remove ${name} and stop its replicas?`, 'Remove', async () => {
        await api('DELETE', 'functions', { functionName: name, namespace: ns });
        navigate('#/', `${name} removed.`);
      }) }, 'Remove…')),
    confirmBox,
    h('div', { class: 'card' }, describe(f, ns, label, schedule)),
    h('h2', {}, 'Traffic'), stats);
  api('GET', `function/${encodeURIComponent(name)}/schedule`, undefined, { namespace: ns })
    .then((s) => schedule.replaceChildren(`${s.schedule} · next run ${s.nextRun || '–'}`))
    .catch((e) => schedule.replaceChildren(e.status === 404 ? 'not scheduled' : e.message));
  const refreshStats = async () => {
    const all = await api('GET', 'function-stats', undefined, { namespace: ns });
    const s = all.find((x) => x.name === name);
    if (!s) return;
    const row = (title, w) => [title, `${w.requests} requests, ${rate(w.requestsPerSecond)} req/s, p50 ${seconds(w.p50Seconds)}, p99 ${seconds(w.p99Seconds)}, ${w.errors} errors`];
    stats.replaceChildren(h('div', { class: 'card' }, kv([row('Last minute', s.lastMinute), row('Last 5 minutes', s.lastFiveMinutes)]),
      h('p', {}, spark(s.lastFiveMinutes.series))));
  };
  await refreshStats().catch(fail('Cannot read the statistics'));
  poll(refreshStats, 2000, 'Cannot refresh the statistics');
}

function parseLines(text, sep) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const i = line.indexOf(sep);
    if (i <= 0) throw new Error(`"${line}" is not ${sep === ':' ? 'Name: value' : 'key=value'}`);
    out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return out;
}

function invokeCommand(ns, name, method, path, query, headers, body) {
  const parts = ['rfaas', 'invoke', sq(name), '-g', sq(location.origin)];
  if (ns !== 'openfaas-fn') parts.push('-n', sq(ns));
  if (method !== 'POST') parts.push('-m', method);
  for (const [k, v] of new URLSearchParams(query)) parts.push('--query', sq(`${k}=${v}`));
  for (const [k, v] of headers) parts.push('-H', sq(`${k}: ${v}`));
  const cmd = body ? `printf '%s' ${sq(body)} | ${parts.join(' ')}` : `${parts.join(' ')} < /dev/null`;
  return path && path !== '/' ? `${cmd}\n# rfaas invoke calls the function's root path; for ${path}:\ncurl -X ${method} ${sq(location.origin + `/function/${name}.${ns}${path}${query ? '?' + query : ''}`)}` : cmd;
}

function invokePage(ns, name) {
  const method = h('select', { id: 'method' }, ['POST', 'GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'].map((m) => h('option', {}, m)));
  const path = h('input', { type: 'text', id: 'path', value: '/', placeholder: '/' });
  const query = h('input', { type: 'text', id: 'query', placeholder: 'a=1&b=2' });
  const headers = h('textarea', { id: 'headers', placeholder: 'Content-Type: application/json' });
  const body = h('textarea', { id: 'body', placeholder: 'request body' });
  const result = h('div', { id: 'result' });
  const command = h('pre', { id: 'command' });
  const update = () => {
    try { command.textContent = invokeCommand(ns, name, method.value, path.value, query.value, parseLines(headers.value, ':'), body.value); }
    catch (e) { command.textContent = e.message; }
  };
  const send = async (ev) => {
    ev.preventDefault();
    let hs;
    try { hs = parseLines(headers.value, ':'); } catch (e) { show(`Cannot invoke ${name}: ${e.message}`); return; }
    const p = path.value.startsWith('/') ? path.value : '/' + path.value;
    const url = `${location.origin}/function/${encodeURIComponent(name)}.${encodeURIComponent(ns)}${p === '/' ? '' : p}${query.value ? '?' + query.value.replace(/^\?/, '') : ''}`;
    const noBody = method.value === 'GET' || method.value === 'HEAD';
    const t0 = performance.now();
    result.replaceChildren(h('p', { class: 'muted' }, 'Waiting for the answer…'));
    try {
      const r = await fetch(url, { method: method.value, headers: hs, body: noBody ? undefined : body.value, credentials: 'omit' });
      const text = await r.text();
      const ms = performance.now() - t0;
      show('');
      result.replaceChildren(h('div', { class: 'card' },
        kv([['Status', h('span', { id: 'status', class: `badge ${r.ok ? 'ok' : 'bad'}` }, `${r.status} ${r.statusText}`)],
          ['Duration', h('span', { id: 'duration' }, `${ms.toFixed(1)} ms`)]]),
        h('h2', {}, 'Headers'), h('pre', { id: 'response-headers' }, [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')),
        h('h2', {}, 'Body'), h('pre', { id: 'response-body' }, text)));
    } catch (e) {
      result.replaceChildren();
      show(`Cannot invoke ${name}: ${e.message}`);
    }
  };
  for (const el of [method, path, query, headers, body]) el.addEventListener('input', update);
  main.replaceChildren(h('h1', {}, 'Invoke ', h('a', { href: `#/fn/${encodeURIComponent(ns)}/${encodeURIComponent(name)}` }, name)),
    h('form', { class: 'grid', id: 'invoke', onsubmit: send },
      h('label', { for: 'method' }, 'Method'), method, h('label', { for: 'path' }, 'Path'), path,
      h('label', { for: 'query' }, 'Query'), query, h('label', { for: 'headers' }, 'Headers (one per line)'), headers,
      h('label', { for: 'body' }, 'Body'), body, h('span'), h('div', {}, h('button', { class: 'primary', type: 'submit' }, 'Send'))),
    h('h2', {}, 'Command line'), command, result);
  update();
}

function logsPage(ns, name) {
  const box = h('div', { class: 'logs', id: 'logs', 'aria-live': 'polite' });
  const follow = h('input', { type: 'checkbox', id: 'follow', checked: true });
  const instance = h('select', { id: 'instance' }, h('option', { value: '' }, 'all instances'));
  const state = h('span', { class: 'muted', id: 'log-state' });
  const seen = new Set();
  let controller = null;
  const stop = () => { if (controller) controller.abort(); controller = null; };
  cleanup.push(stop);
  const addLine = (m) => {
    if (m.instance && !seen.has(m.instance)) {
      seen.add(m.instance);
      instance.append(h('option', { value: m.instance }, m.instance));
    }
    box.append(h('div', { class: 'line' }, h('span', { class: 'ts' }, (m.timestamp || '').replace('T', ' ').slice(0, 23)),
      h('span', { class: 'inst' }, m.instance || ''), m.text || ''));
    while (box.childElementCount > 2000) box.firstElementChild.remove();
    if (follow.checked) box.scrollTop = box.scrollHeight;
  };
  const start = async () => {
    stop();
    box.replaceChildren();
    controller = new AbortController();
    const url = new URL('logs', API);
    const q = { name, namespace: ns, follow: follow.checked ? 'true' : 'false', tail: '200', instance: instance.value };
    for (const [k, v] of Object.entries(q)) if (v) url.searchParams.set(k, v);
    state.textContent = follow.checked ? 'streaming…' : 'loading…';
    try {
      const r = await fetch(url, { signal: controller.signal });
      if (!r.ok) throw new ApiError(r.status, r.statusText, await r.text());
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let rest = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const lines = (rest + value).split('\n');
        rest = lines.pop();
        for (const line of lines) if (line.trim()) { try { addLine(JSON.parse(line)); } catch { addLine({ text: line }); } }
      }
      state.textContent = 'stream ended';
    } catch (e) {
      if (e.name === 'AbortError') return;
      state.textContent = '';
      show(`Cannot read the logs of ${name}: ${e.message}`);
    }
  };
  follow.addEventListener('change', start);
  instance.addEventListener('change', start);
  main.replaceChildren(h('h1', {}, 'Logs of ', h('a', { href: `#/fn/${encodeURIComponent(ns)}/${encodeURIComponent(name)}` }, name)),
    h('div', { class: 'actions' }, h('label', { class: 'inline' }, follow, 'Follow'),
      h('label', { class: 'inline' }, 'Instance', instance), h('button', { onclick: () => box.replaceChildren() }, 'Clear'), state),
    box);
  start();
}

async function deployPage() {
  const name = h('input', { type: 'text', id: 'service', required: true, placeholder: 'my-function' });
  const image = h('input', { type: 'text', id: 'image', required: true, placeholder: 'registry/image:tag' });
  const env = h('textarea', { id: 'env', placeholder: 'KEY=value' });
  const labels = h('textarea', { id: 'labels', placeholder: 'com.openfaas.scale.min=1' });
  const memory = h('input', { type: 'text', id: 'memory', placeholder: '128Mi' });
  const cpu = h('input', { type: 'text', id: 'cpu', placeholder: '500m' });
  const secretBox = h('div', { id: 'secrets', class: 'checks' }, h('span', { class: 'muted' }, 'Loading…'));
  const confirmBox = h('div');
  api('GET', 'secrets', undefined, { namespace }).then((list) => secretBox.replaceChildren(...(list.length
    ? list.map((s) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', value: s.name }), s.name))
    : [h('span', { class: 'muted' }, `no secrets in ${namespace}`)]))).catch((e) => secretBox.replaceChildren(e.message));
  const submit = (ev) => {
    ev.preventDefault();
    let body;
    try {
      const limits = {};
      if (memory.value.trim()) limits.memory = memory.value.trim();
      if (cpu.value.trim()) limits.cpu = cpu.value.trim();
      body = { service: name.value.trim(), image: image.value.trim(), namespace,
        envVars: Object.fromEntries(parseLines(env.value, '=')), labels: Object.fromEntries(parseLines(labels.value, '=')),
        annotations: {}, secrets: [...secretBox.querySelectorAll('input:checked')].map((c) => c.value) };
      if (Object.keys(limits).length) body.limits = limits;
    } catch (e) { show(`Cannot deploy: ${e.message}`); return; }
    confirmStep(confirmBox, `Deploy ${body.service} from ${body.image} to ${namespace}?`, 'Deploy', async () => {
      await api('POST', 'functions', body);
      navigate(fnUrl({ name: body.service, namespace }), `${body.service} deployed.`);
    });
  };
  main.replaceChildren(h('h1', {}, 'Deploy a function'),
    h('form', { class: 'grid', id: 'deploy', onsubmit: submit },
      h('label', { for: 'service' }, 'Name'), name, h('label', { for: 'image' }, 'Image'), image,
      h('label', { for: 'env' }, 'Environment (KEY=value per line)'), env,
      h('label', { for: 'labels' }, 'Labels (key=value per line)'), labels,
      h('label', {}, 'Secrets'), secretBox,
      h('label', { for: 'memory' }, 'Memory limit'), memory, h('label', { for: 'cpu' }, 'CPU limit'), cpu,
      h('span'), h('div', {}, h('button', { class: 'primary', type: 'submit' }, 'Deploy…'))),
    confirmBox);
}

async function asyncPage() {
  const fn = h('input', { type: 'text', id: 'async-function', placeholder: 'all functions' });
  const status = h('select', { id: 'async-status' }, ['', 'queued', 'running', 'succeeded', 'failed', 'dead']
    .map((s) => h('option', { value: s }, s || 'any status')));
  const list = h('div', { id: 'invocations' });
  const confirmBox = h('div');
  const attempts = (c) => h('table', { class: 'attempts' }, h('thead', {}, h('tr', {}, ['#', 'Started', 'Finished', 'Status', 'Duration', 'Error'].map((t) => h('th', {}, t)))),
    h('tbody', {}, (c.attempts || []).map((a) => h('tr', {}, h('td', {}, String(a.number)), h('td', {}, a.startedAt || '–'),
      h('td', {}, a.finishedAt || '–'), h('td', {}, a.statusCode ? String(a.statusCode) : '–'),
      h('td', {}, seconds(a.durationSeconds)), h('td', {}, a.error || '')))));
  const refresh = async () => {
    const calls = await api('GET', 'async/invocations', undefined, { namespace, function: fn.value.trim(), status: status.value, limit: '100' });
    list.replaceChildren(calls.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Call', 'Function', 'Status', 'Attempts', 'Created', 'Updated', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, calls.flatMap((c) => [h('tr', { 'data-call': c.callId },
        h('td', { class: 'mono' }, c.callId), h('td', {}, c.function), h('td', {}, h('span', { class: `badge ${c.status}` }, c.status)),
        h('td', { class: 'num' }, String((c.attempts || []).length)), h('td', {}, c.createdAt || '–'), h('td', {}, c.updatedAt || '–'),
        h('td', {}, c.status === 'dead' ? h('button', { 'data-retry': c.callId, onclick: () => confirmStep(confirmBox, `Retry call ${c.callId} of ${c.function}?`, 'Retry', async () => {
          await api('POST', `async/invocations/${encodeURIComponent(c.callId)}/retry`);
          show(`Call ${c.callId} queued again.`, 'info');
          await refresh();
        }) }, 'Retry…') : '')),
      h('tr', {}, h('td', { colspan: 7 }, attempts(c)))])))
      : h('p', { class: 'muted' }, 'No async invocations match.'));
  };
  fn.addEventListener('change', () => refresh().catch(fail('Cannot list async invocations')));
  status.addEventListener('change', () => refresh().catch(fail('Cannot list async invocations')));
  main.replaceChildren(h('h1', {}, 'Async invocations'), h('div', { class: 'actions' }, fn, status), confirmBox, list);
  await refresh().catch(fail('Cannot list async invocations'));
  poll(refresh, 3000, 'Cannot refresh async invocations');
}

// ----------------------------------------------------------------- router --
async function route() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = parts[0] || 'functions';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.nav === page || (['fn', 'invoke', 'logs'].includes(page) && a.dataset.nav === 'functions'));
  try {
    if (page === 'fn') await functionPage(parts[1], parts[2]);
    else if (page === 'invoke') invokePage(parts[1], parts[2]);
    else if (page === 'logs') logsPage(parts[1], parts[2]);
    else if (page === 'deploy') await deployPage();
    else if (page === 'async') await asyncPage();
    else await functionsPage();
  } catch (e) {
    main.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', {}, e.message));
  }
}

async function health() {
  const el = document.getElementById('health');
  try {
    const r = await fetch(new URL('health', API));
    const report = await r.json();
    const bad = Object.entries(report.checks).filter(([, c]) => c.status !== 'ok').map(([k, c]) => `${k}: ${c.error}`);
    el.textContent = bad.length ? `unhealthy: ${bad.join('; ')}` : 'healthy';
    el.className = `health ${bad.length ? 'bad' : 'ok'}`;
  } catch (e) {
    el.textContent = 'gateway not answering';
    el.className = 'health bad';
  }
}

async function start() {
  namespace = localStorage.getItem('rfaas.namespace') || 'openfaas-fn';
  try {
    const names = await api('GET', 'namespaces');
    if (!names.includes(namespace)) namespace = names[0] || 'openfaas-fn';
    nsSelect.replaceChildren(...names.map((n) => h('option', { value: n, selected: n === namespace }, n)));
  } catch (e) { show(`Cannot list namespaces: ${e.message}`); }
  nsSelect.addEventListener('change', () => {
    namespace = nsSelect.value;
    localStorage.setItem('rfaas.namespace', namespace);
    show('');
    route();
  });
  window.addEventListener('hashchange', () => {
    show(flash, 'info');
    flash = '';
    route();
  });
  route();
  health();
  setInterval(health, 10000);
}

start();
