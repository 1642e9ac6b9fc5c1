'use strict';
// MySQL pool (mysql2/promise): created lazily on first use and reused for the
// life of the process. The password is read from the OpenFaaS secret file and
// never logged.

const fs = require('fs');

const DEFAULT_PASSWORD_FILE = '/var/openfaas/secrets/food-db-password';

// Errors that mean "the database is not reachable right now" -> 503.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR',
  'ER_ACCESS_DENIED_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_LOCK_WAIT_TIMEOUT', 'POOL_CLOSED',
]);
// Worth one more try in a fresh transaction.
const RETRYABLE_CODES = new Set([
  'ER_LOCK_DEADLOCK', 'ER_DUP_ENTRY', 'PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE',
]);

class DatabaseUnavailable extends Error {}

function readPassword(env = process.env) {
  const file = env.MYSQL_PASSWORD_FILE || DEFAULT_PASSWORD_FILE;
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (_) {
    return env.MYSQL_PASSWORD || '';
  }
}

function poolConfig(env = process.env) {
  return {
    host: env.MYSQL_HOST || '127.0.0.1',
    port: Number(env.MYSQL_PORT || 3306),
    user: env.MYSQL_USER || 'food',
    password: readPassword(env),
    database: env.MYSQL_DATABASE || 'food_delivery',
    connectionLimit: Number(env.MYSQL_POOL_SIZE || 10),
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: 3000,
    enableKeepAlive: true,
    idleTimeout: 60000,
    decimalNumbers: true, // DECIMAL columns as numbers, not strings
    timezone: 'Z',
    charset: 'utf8mb4',
  };
}

// Every pooled connection runs in READ COMMITTED. Under the default REPEATABLE READ, the
// `SELECT ... FOR UPDATE` of a receipt that does not exist yet takes a gap lock, and
// completions of *different* orders whose receipts fall into the same gap (new order ids
// sort at the end of the index) then deadlock on their INSERTs: at 16 concurrent completions
// most requests failed with ER_LOCK_DEADLOCK even after the retry. The order's row lock is
// what serialises completions of one order and the UNIQUE keys catch the rest, so gap locks
// protect nothing here.
const SESSION_SETUP = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

// Runs SESSION_SETUP on a new (callback-API) connection. The pool emits 'connection' before
// it hands the connection out, and a connection runs its commands in order, so this always
// comes first.
function prepareConnection(conn, log = console.log) {
  conn.query(SESSION_SETUP, (err) => {
    if (err) log(`[db] cannot set the isolation level: ${err.code || err.message}`);
  });
}

let pool = null;

function getPool() {
  if (!pool) {
    const mysql = require('mysql2/promise');
    pool = mysql.createPool(poolConfig());
    pool.on('connection', (conn) => prepareConnection(conn));
  }
  return pool;
}

function isUnavailable(err) {
  return Boolean(err) && (err instanceof DatabaseUnavailable || UNAVAILABLE_CODES.has(err.code)
    || (err.fatal === true && !String(err.code || '').startsWith('ER_PARSE')));
}

function isRetryable(err) {
  return Boolean(err) && RETRYABLE_CODES.has(err.code);
}

module.exports = {
  DatabaseUnavailable, SESSION_SETUP, getPool, isRetryable, isUnavailable, poolConfig, prepareConnection,
  readPassword,
};
