'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const db = require('./lib/db');

test('password comes from the secret file, env only as a fallback', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-'));
  const file = path.join(dir, 'food-db-password');
  fs.writeFileSync(file, 's3cret\n');
  assert.equal(db.readPassword({ MYSQL_PASSWORD_FILE: file, MYSQL_PASSWORD: 'env' }), 's3cret');
  assert.equal(db.readPassword({ MYSQL_PASSWORD_FILE: path.join(dir, 'absent'), MYSQL_PASSWORD: 'env' }), 'env');
  fs.rmSync(dir, { recursive: true });
});

test('pool settings come from the environment with short timeouts', () => {
  const cfg = db.poolConfig({ MYSQL_HOST: 'h', MYSQL_PORT: '3307', MYSQL_USER: 'u', MYSQL_DATABASE: 'd', MYSQL_PASSWORD_FILE: '/nonexistent' });
  assert.equal(cfg.host, 'h');
  assert.equal(cfg.port, 3307);
  assert.equal(cfg.user, 'u');
  assert.equal(cfg.database, 'd');
  assert.ok(cfg.connectTimeout <= 5000);
  assert.equal(cfg.decimalNumbers, true);
});

test('error classification', () => {
  assert.equal(db.isUnavailable({ code: 'ECONNREFUSED' }), true);
  assert.equal(db.isUnavailable({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), true);
  assert.equal(db.isUnavailable({ code: 'ER_NO_SUCH_TABLE' }), false);
  assert.equal(db.isRetryable({ code: 'ER_LOCK_DEADLOCK' }), true);
  assert.equal(db.isRetryable({ code: 'ER_NO_SUCH_TABLE' }), false);
});

test('every pooled connection switches to READ COMMITTED before its first use', async () => {
  const sent = [];
  db.prepareConnection({ query: (sql, cb) => { sent.push(sql); cb(null); } });
  assert.deepEqual(sent, ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED']);
  const logged = [];
  db.prepareConnection({ query: (sql, cb) => cb({ code: 'ER_X' }) }, (line) => logged.push(line));
  assert.deepEqual(logged, ['[db] cannot set the isolation level: ER_X']);
  const pool = db.getPool();
  assert.equal(pool.listenerCount('connection'), 1);
  await pool.end();
});
