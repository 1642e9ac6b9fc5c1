'use strict';

// rfaas node18 runtime: Express 4 app that calls function/handler.js for every
// request except the private /_/ endpoints, plus the watchdog behaviour
// (exec_timeout -> 504, max_inflight -> 429, X-Duration-Seconds, access log,
// graceful shutdown on SIGTERM).

const http = require('http');
const express = require('express');

const handler = require('./function/handler');

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
// state

let ready = false;
let draining = false;
let inflight = 0;

const app = express();
app.disable('x-powered-by');

// Private endpoints: never limited, never logged.
app.use((req, res, next) => {
  if (req.path !== '/_/health' && req.path !== '/_/ready') return next();
  res.locals.internal = true;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return res.status(405).set('Allow', 'GET, HEAD').type('text/plain').send('Method not allowed\n');
  }
  if (!ready || draining) return res.status(503).type('text/plain').send('Service Unavailable\n');
  if (req.path === '/_/ready' && cfg.maxInflight > 0 && inflight >= cfg.maxInflight) {
    return res.status(429).type('text/plain').send('Too Many Requests\n');
  }
  return res.status(200).type('text/plain').send('OK');
});

// Watchdog: limiter, timer, duration header, access log.
app.use((req, res, next) => {
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

  res.on('finish', () => {
    console.log(`${req.method} ${uri} - ${res.statusCode} - ContentLength: ${bytes} (${elapsed().toFixed(4)}s)`);
    if (draining) server.closeIdleConnections();
  });

  if (cfg.maxInflight > 0 && inflight >= cfg.maxInflight) {
    res.locals.internal = true;
    return res.status(429)
      .set('X-OpenFaaS-Internal', 'faas-middleware')
      .type('text/plain')
      .send(`Concurrent request limit exceeded. Max concurrent requests: ${cfg.maxInflight}\n`);
  }

  inflight += 1;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    inflight -= 1;
  };
  res.on('finish', release);
  res.on('close', release);

  if (cfg.execTimeout > 0) {
    const timer = setTimeout(() => {
      res.locals.timedOut = true;
      if (res.headersSent) {
        // The handler already started a response; cut it off.
        res.destroy();
        return;
      }
      res.locals.internal = true;
      res.status(504)
        .set('X-OpenFaaS-Internal', 'watchdog')
        .type('text/plain')
        .send(`Function timed out after ${fmtDuration(cfg.execTimeout)} (exec_timeout)\n`);
      release();
    }, cfg.execTimeout);
    const clear = () => clearTimeout(timer);
    res.on('finish', clear);
    res.on('close', clear);
  }
  return next();
});

// Body parsing, as in the OpenFaaS node templates.
app.use((req, res, next) => {
  if (!req.headers['content-type']) req.headers['content-type'] = 'text/plain';
  next();
});
if (String(process.env.RAW_BODY).toLowerCase() === 'true') {
  app.use(express.raw({ type: '*/*', limit: process.env.MAX_RAW_SIZE || '100kb' }));
} else {
  app.use(express.text({ type: 'text/*', limit: process.env.MAX_RAW_SIZE || '100kb' }));
  app.use(express.json({ limit: process.env.MAX_JSON_SIZE || '100kb' }));
  app.use(express.urlencoded({ extended: true }));
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
    res.status(status).set(context.headers());
    if (isJSONValue(err) && !(err instanceof Error)) {
      if (!res.get('Content-Type')) res.type('application/json');
      return res.send(JSON.stringify(err));
    }
    return res.send(String(err));
  }
  res.status(context.status()).set(context.headers());
  if (Array.isArray(result) || isJSONValue(result)) {
    if (!res.get('Content-Type')) res.type('application/json');
    return res.send(JSON.stringify(result));
  }
  if (result === undefined || result === null) return res.end();
  if (typeof result === 'string' || Buffer.isBuffer(result)) return res.send(result);
  return res.send(String(result));
}

// Every other path and method goes to the function.
app.use((req, res) => {
  let context;
  const cb = (err, result) => respond(req, res, context, err, result);
  context = new FunctionContext(cb);
  const event = new FunctionEvent(req);
  const usesCallback = handler.length >= 3;

  Promise.resolve()
    .then(() => handler(event, context, cb))
    .then((value) => {
      if (context.cbCalled) return;
      if (value === undefined && usesCallback) return; // will answer via cb()
      context.succeed(value);
    })
    .catch((e) => {
      context.cbCalled += 1;
      cb(e === undefined ? new Error('handler rejected') : e);
    });
});

// Body-parser and other errors (e.g. invalid JSON -> 400).
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  const status = Number.isInteger(err.status) && err.status >= 400 ? err.status : 500;
  if (status >= 500) console.error(err);
  if (res.headersSent) return res.destroy();
  return res.status(status).type('text/plain').send(`${err.message || 'Internal Server Error'}\n`);
});

// ---------------------------------------------------------------------------
// server

const serverOptions = {
  requestTimeout: cfg.readTimeout > 0 ? Math.ceil(cfg.readTimeout) : 0,
  headersTimeout: cfg.readTimeout > 0 ? Math.ceil(cfg.readTimeout) : 0,
  connectionsCheckingInterval: 1000,
};
const server = http.createServer(serverOptions, app);

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

server.listen(cfg.port, cfg.bindAddress, () => {
  ready = true;
  console.log(`node18 listening on ${cfg.bindAddress}:${cfg.port} (read_timeout=${fmtDuration(cfg.readTimeout)} `
    + `write_timeout=${fmtDuration(cfg.writeTimeout)} `
    + `exec_timeout=${cfg.execTimeout > 0 ? fmtDuration(cfg.execTimeout) : 'off'} `
    + `max_inflight=${cfg.maxInflight || 'unlimited'})`);
});
