'use strict';

// rfaas node18 runtime: a plain node:http server that calls function/handler.js for every
// request except the private /_/ endpoints, plus the watchdog behaviour (exec_timeout -> 504,
// max_inflight -> 429, X-Duration-Seconds, access log, graceful shutdown on SIGTERM).
//
// It answers as the Express 4 app it replaces did (the same body parsers, query parser,
// Content-Type defaults and charsets, ETag and 304, errors), without Express's per-request
// router and request/response decoration, which cost more CPU than a small handler.
//
// Hot reload (rfaas's dev loop; dormant until signalled): on SIGHUP the server reads a reload id
// from /home/app/.rfaas-reload, drops the require.cache entries of /home/app/function/ (not its
// node_modules), requires function/handler anew and, only if that succeeds, sends new requests to
// the new handler; requests in flight finish on the old one, and a load that throws (SyntaxError,
// a missing module, an error at load time) restores the old modules and leaves the old handler
// serving. Either way one line goes to stdout: `rfaas-reload {"id":...,"ok":true,"ms":...}` or
// `rfaas-reload {"id":...,"ok":false,"error":"Type: message","file":"function/x.js","line":N,
// "detail":"<stack>"}`. require() is synchronous, so a handler whose module code blocks (rather
// than awaits) holds new requests until it has loaded; they are then served by the new handler.
// Files deleted on the host stay in the container until the next image build.

const fs = require('fs');
const http = require('http');
const path = require('path');
const bodyParser = require('body-parser');
const contentType = require('content-type');
const etag = require('etag');
const fresh = require('fresh');
const qs = require('qs');

// Replaced by a successful hot reload (see reloadHandler).
let handler = require('./function/handler');

// ---------------------------------------------------------------------------
// configuration

const UNITS_MS = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

// Plain integer = seconds, otherwise a Go duration such as "1m30s" or "500ms".
// Returns milliseconds, or null when the text is not valid.
function parseDuration(text) {
  let s = String(text).trim();
  if (/^[+-]?\d+$/.test(s)) return parseInt(s, 10) * 1000;
  let sign = 1;
  if (s[0] === '+' || s[0] === '-') {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return null;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) return null;
    total += parseFloat(m[1]) * UNITS_MS[m[2]];
    pos = part.lastIndex;
  }
  return sign * total;
}

function fmtDuration(ms) {
  if (ms === 0) return '0s';
  if (ms >= 1000) return `${+(ms / 1000).toFixed(3)}s`;
  return `${+ms.toFixed(3)}ms`;
}

function envDuration(name, defMs) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return defMs;
  const v = parseDuration(raw);
  if (v === null || v < 0) {
    console.log(`Invalid duration ${name}=${JSON.stringify(raw)}, using ${fmtDuration(defMs)}`);
    return defMs;
  }
  return v;
}

function envInt(name, def) {
  const raw = (process.env[name] || '').trim();
  if (raw === '') return def;
  if (!/^[+-]?\d+$/.test(raw)) {
    console.log(`Invalid integer ${name}=${JSON.stringify(raw)}, using ${def}`);
    return def;
  }
  return Math.max(parseInt(raw, 10), 0);
}

const cfg = {
  port: envInt('port', 8080) || 8080,
  // The gateway passes bind_address=127.0.0.1 so that a replica on the host network is reachable
  // only through it; run elsewhere, the image listens on every interface as before.
  bindAddress: (process.env.bind_address || '').trim() || '0.0.0.0',
  readTimeout: envDuration('read_timeout', 10000),
  writeTimeout: envDuration('write_timeout', 10000),
  execTimeout: envDuration('exec_timeout', 10000),
  maxInflight: envInt('max_inflight', 0),
};

// ---------------------------------------------------------------------------
// OpenFaaS-style event and context

class FunctionEvent {
  constructor(req) {
    this.body = req.body;
    this.headers = req.headers;
    this.method = req.method;
    this.query = req.query;
    this.path = req.path;
  }
}

class FunctionContext {
  constructor(cb) {
    this.statusCode = 200;
    this.headerValues = {};
    this.cb = cb;
    this.cbCalled = 0;
  }

  status(statusCode) {
    if (statusCode === undefined) return this.statusCode;
    this.statusCode = statusCode;
    return this;
  }

  headers(values) {
    if (values === undefined) return this.headerValues;
    this.headerValues = values;
    return this;
  }

  succeed(value) {
    this.cbCalled += 1;
    this.cb(undefined, value);
    return value;
  }

  fail(value) {
    this.cbCalled += 1;
    this.cb(value === undefined ? new Error('fail() called') : value, undefined);
    return value;
  }
}

function isJSONValue(v) {
  return v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Uint8Array);
}

// ---------------------------------------------------------------------------
// responses, as Express 4's res.set, res.type and res.send wrote them

const CHARSET = /;\s*charset\s*=/;
// The types the `mime` package Express uses gives a UTF-8 charset.
const UTF8_TYPES = /^text\/|^application\/(javascript|json)/;
// What contentType.format(contentType.parse(type)) with charset=utf-8 leaves unchanged.
const NORMALIZED_UTF8_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+; charset=utf-8$/;
const TYPES = { html: 'text/html', txt: 'text/plain', json: 'application/json', bin: 'application/octet-stream' };

function setHeader(res, field, val) {
  let value = Array.isArray(val) ? val.map(String) : String(val);
  if (field.toLowerCase() === 'content-type') {
    if (Array.isArray(value)) throw new TypeError('Content-Type cannot be set to an Array');
    if (!CHARSET.test(value) && UTF8_TYPES.test(value.split(';')[0])) value += '; charset=utf-8';
  }
  res.setHeader(field, value);
}

function setHeaders(res, fields) {
  for (const key in fields) setHeader(res, key, fields[key]);
}

function setType(res, type) {
  setHeader(res, 'Content-Type', type.indexOf('/') === -1 ? TYPES[type] : type);
}

// res.send(string | Buffer): Content-Type default, charset, Content-Length, weak ETag, 304 when
// the client's copy is fresh, no body for HEAD, 204 and 304.
function send(req, res, body) {
  let chunk = body;
  if (typeof chunk === 'string') {
    if (!res.getHeader('Content-Type')) setType(res, 'html');
    const type = res.getHeader('Content-Type');
    // Formatting a type that is already lower-case with only charset=utf-8 gives it back as it
    // is, so it is not parsed again for every JSON or text answer.
    if (typeof type === 'string' && !NORMALIZED_UTF8_TYPE.test(type)) {
      const parsed = contentType.parse(type);
      parsed.parameters.charset = 'utf-8';
      res.setHeader('Content-Type', contentType.format(parsed));
    }
    chunk = Buffer.from(chunk, 'utf8');
  } else if (!res.getHeader('Content-Type')) {
    setType(res, 'bin');
  }
  res.setHeader('Content-Length', chunk.length);
  if (!res.getHeader('ETag')) res.setHeader('ETag', etag(chunk, { weak: true }));
  const status = res.statusCode;
  if ((req.method === 'GET' || req.method === 'HEAD') && ((status >= 200 && status < 300) || status === 304)
    && fresh(req.headers, { etag: res.getHeader('ETag'), 'last-modified': res.getHeader('Last-Modified') })) {
    res.statusCode = 304;
  }
  if (res.statusCode === 204 || res.statusCode === 304) {
    res.removeHeader('Content-Type');
    res.removeHeader('Content-Length');
    res.removeHeader('Transfer-Encoding');
    chunk = undefined;
  } else if (res.statusCode === 205) {
    res.setHeader('Content-Length', '0');
    res.removeHeader('Transfer-Encoding');
    chunk = undefined;
  }
  if (req.method === 'HEAD' || chunk === undefined) res.end();
  else res.end(chunk);
}

function sendText(req, res, status, text, headers) {
  res.statusCode = status;
  if (headers) setHeaders(res, headers);
  setType(res, 'text/plain');
  send(req, res, text);
}

// ---------------------------------------------------------------------------
// state

let ready = false;
let draining = false;
let inflight = 0;

// Body parsing, as in the OpenFaaS node templates (and the Express app before).
const parsers = String(process.env.RAW_BODY).toLowerCase() === 'true'
  ? [bodyParser.raw({ type: '*/*', limit: process.env.MAX_RAW_SIZE || '100kb' })]
  : [
    bodyParser.text({ type: 'text/*', limit: process.env.MAX_RAW_SIZE || '100kb' }),
    bodyParser.json({ limit: process.env.MAX_JSON_SIZE || '100kb' }),
    bodyParser.urlencoded({ extended: true }),
  ];

function parseBody(req, res, done) {
  let i = 0;
  const next = (err) => {
    if (err) return done(err);
    if (i === parsers.length) return done();
    const parser = parsers[i];
    i += 1;
    return parser(req, res, next);
  };
  next();
}

// Private endpoints: never limited, never logged.
function privateEndpoint(req, res, path) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendText(req, res, 405, 'Method not allowed\n', { Allow: 'GET, HEAD' });
  }
  if (!ready || draining) return sendText(req, res, 503, 'Service Unavailable\n');
  if (path === '/_/ready' && cfg.maxInflight > 0 && inflight >= cfg.maxInflight) {
    return sendText(req, res, 429, 'Too Many Requests\n');
  }
  return sendText(req, res, 200, 'OK');
}

function respond(req, res, context, err, result) {
  if (res.locals.timedOut || res.headersSent || res.writableEnded) {
    if (res.locals.timedOut) console.error(`${req.method} ${req.originalUrl}: response after exec_timeout discarded`);
    return;
  }
  if (err !== undefined && err !== null) {
    console.error(err);
    let status = context.status();
    if (!Number.isInteger(status) || status < 400) status = 500;
    res.statusCode = status;
    setHeaders(res, context.headers());
    if (isJSONValue(err) && !(err instanceof Error)) {
      if (!res.getHeader('Content-Type')) setType(res, 'application/json');
      return send(req, res, JSON.stringify(err));
    }
    return send(req, res, String(err));
  }
  res.statusCode = context.status();
  setHeaders(res, context.headers());
  if (Array.isArray(result) || isJSONValue(result)) {
    if (!res.getHeader('Content-Type')) setType(res, 'application/json');
    return send(req, res, JSON.stringify(result));
  }
  if (result === undefined || result === null) return res.end();
  if (typeof result === 'string' || Buffer.isBuffer(result)) return send(req, res, result);
  return send(req, res, String(result));
}

// Every other path and method goes to the function.
function callFunction(req, res) {
  let context;
  const cb = (err, result) => {
    try {
      respond(req, res, context, err, result);
    } catch (e) {
      fail(req, res, e);
    }
  };
  context = new FunctionContext(cb);
  const event = new FunctionEvent(req);
  const fn = handler; // the handler this request started with, even if a reload lands meanwhile
  const usesCallback = fn.length >= 3;

  Promise.resolve()
    .then(() => fn(event, context, cb))
    .then((value) => {
      if (context.cbCalled) return;
      if (value === undefined && usesCallback) return; // will answer via cb()
      context.succeed(value);
    })
    .catch((e) => {
      context.cbCalled += 1;
      cb(e === undefined ? new Error('handler rejected') : e);
    });
}

// Body-parser and other errors (e.g. invalid JSON -> 400).
function fail(req, res, err) {
  const status = Number.isInteger(err.status) && err.status >= 400 ? err.status : 500;
  if (status >= 500) console.error(err);
  if (res.headersSent) return res.destroy();
  return sendText(req, res, status, `${err.message || 'Internal Server Error'}\n`);
}

// The watchdog around a function call: limiter, timer, duration header, access log.
function watch(req, res) {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const uri = req.originalUrl;

  let bytes = 0;
  const origWrite = res.write;
  const origEnd = res.end;
  const count = (chunk, encoding) => {
    if (chunk && typeof chunk !== 'function') {
      bytes += Buffer.isBuffer(chunk) ? chunk.length
        : Buffer.byteLength(chunk, typeof encoding === 'string' ? encoding : 'utf8');
    }
  };
  res.write = function write(chunk, encoding, cb) {
    count(chunk, encoding);
    return origWrite.call(this, chunk, encoding, cb);
  };
  res.end = function end(chunk, encoding, cb) {
    if (req.method !== 'HEAD') count(chunk, encoding);
    return origEnd.call(this, chunk, encoding, cb);
  };

  const origWriteHead = res.writeHead;
  res.writeHead = function writeHead(...args) {
    if (!res.locals.internal) res.setHeader('X-Duration-Seconds', elapsed().toFixed(6));
    if (draining) res.setHeader('Connection', 'close');
    return origWriteHead.apply(this, args);
  };

  let timer = null;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    inflight -= 1;
  };
  const finished = () => {
    if (timer !== null) clearTimeout(timer);
    release();
  };
  res.on('finish', () => {
    console.log(`${req.method} ${uri} - ${res.statusCode} - ContentLength: ${bytes} (${elapsed().toFixed(4)}s)`);
    if (draining) server.closeIdleConnections();
  });

  if (cfg.maxInflight > 0 && inflight >= cfg.maxInflight) {
    res.locals.internal = true;
    released = true;
    return sendText(req, res, 429, `Concurrent request limit exceeded. Max concurrent requests: ${cfg.maxInflight}\n`,
      { 'X-OpenFaaS-Internal': 'faas-middleware' });
  }

  inflight += 1;
  res.on('finish', finished);
  res.on('close', finished);

  if (cfg.execTimeout > 0) {
    timer = setTimeout(() => {
      res.locals.timedOut = true;
      if (res.headersSent) {
        // The handler already started a response; cut it off.
        res.destroy();
        return;
      }
      res.locals.internal = true;
      sendText(req, res, 504, `Function timed out after ${fmtDuration(cfg.execTimeout)} (exec_timeout)\n`,
        { 'X-OpenFaaS-Internal': 'watchdog' });
      release();
    }, cfg.execTimeout);
  }

  if (!req.headers['content-type']) req.headers['content-type'] = 'text/plain';
  return parseBody(req, res, (err) => {
    if (err) return fail(req, res, err);
    if (res.locals.timedOut) return undefined;
    return callFunction(req, res);
  });
}

function handle(req, res) {
  // What Express put on req and res for the handler and for the code above.
  const url = req.url;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  req.originalUrl = url;
  req.path = path;
  res.locals = {};
  if (path === '/_/health' || path === '/_/ready') {
    res.locals.internal = true;
    return privateEndpoint(req, res, path);
  }
  try {
    req.query = q === -1 ? {} : qs.parse(url.slice(q + 1), { allowPrototypes: true });
  } catch (e) {
    return fail(req, res, e);
  }
  return watch(req, res);
}

// ---------------------------------------------------------------------------
// hot reload

const FUNCTION_DIR = path.join(__dirname, 'function') + path.sep;
const RELOAD_ID_FILE = path.join(__dirname, '.rfaas-reload');
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

function isFunctionCode(file) {
  return file.startsWith(FUNCTION_DIR) && !file.includes(NODE_MODULES, FUNCTION_DIR.length - 1);
}

// The handler's modules leave require.cache; they come back if the new handler fails to load.
function loadHandler() {
  const old = {};
  for (const key of Object.keys(require.cache)) {
    if (isFunctionCode(key)) {
      old[key] = require.cache[key];
      delete require.cache[key];
    }
  }
  try {
    const loaded = require('./function/handler');
    if (typeof loaded !== 'function') throw new TypeError('function/handler.js does not export a function');
    return loaded;
  } catch (e) {
    for (const key of Object.keys(require.cache)) if (isFunctionCode(key)) delete require.cache[key];
    Object.assign(require.cache, old);
    throw e;
  }
}

// Where in the handler's own code `err` comes from: the file:line heading a SyntaxError's stack,
// else the innermost stack frame in function/ (outside node_modules).
function errorPlace(err) {
  const stack = typeof err.stack === 'string' ? err.stack : '';
  const lines = stack.split('\n');
  const heading = /^(\/.+):(\d+)$/.exec(lines[0]);
  if (heading && isFunctionCode(heading[1])) return [heading[1], Number(heading[2])];
  for (const line of lines) {
    const frame = /\(?(\/[^()]+?):(\d+):\d+\)?$/.exec(line.trim());
    if (frame && isFunctionCode(frame[1])) return [frame[1], Number(frame[2])];
  }
  return [null, null];
}

function reloadHandler() {
  let id = '';
  try {
    id = fs.readFileSync(RELOAD_ID_FILE, 'utf8').split('\n')[0].trim();
  } catch (e) {
    // answered without an id: nobody waits for it, but the log shows the signal arrived
  }
  const started = process.hrtime.bigint();
  let answer;
  try {
    handler = loadHandler();
    answer = { id, ok: true, ms: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const [file, line] = errorPlace(err);
    answer = { id, ok: false, error: `${err.name}: ${String(err.message).split('\n')[0]}` };
    if (file !== null) Object.assign(answer, { file: path.relative(__dirname, file), line });
    answer.detail = String(err.stack || answer.error);
  }
  console.log(`rfaas-reload ${JSON.stringify(answer)}`);
}

// ---------------------------------------------------------------------------
// server

const serverOptions = {
  requestTimeout: cfg.readTimeout > 0 ? Math.ceil(cfg.readTimeout) : 0,
  headersTimeout: cfg.readTimeout > 0 ? Math.ceil(cfg.readTimeout) : 0,
  connectionsCheckingInterval: 1000,
};
const server = http.createServer(serverOptions, handle);

function shutdown(signal) {
  if (draining) return;
  draining = true;
  console.log(`Received ${signal}, draining in-flight requests (up to write_timeout=${fmtDuration(cfg.writeTimeout)})`);
  const done = () => {
    console.log('Server stopped');
    process.exit(0);
  };
  server.close(done);
  server.closeIdleConnections();
  setInterval(() => server.closeIdleConnections(), 100).unref();
  if (cfg.writeTimeout > 0) {
    setTimeout(() => {
      console.log(`write_timeout (${fmtDuration(cfg.writeTimeout)}) reached with requests in flight, exiting`);
      process.exit(0);
    }, cfg.writeTimeout).unref();
  }
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => setImmediate(reloadHandler));

server.listen(cfg.port, cfg.bindAddress, () => {
  ready = true;
  console.log(`node18 listening on ${cfg.bindAddress}:${cfg.port} (read_timeout=${fmtDuration(cfg.readTimeout)} `
    + `write_timeout=${fmtDuration(cfg.writeTimeout)} `
    + `exec_timeout=${cfg.execTimeout > 0 ? fmtDuration(cfg.execTimeout) : 'off'} `
    + `max_inflight=${cfg.maxInflight || 'unlimited'})`);
});
