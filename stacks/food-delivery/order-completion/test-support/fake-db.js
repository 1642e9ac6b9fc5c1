'use strict';
// In-memory stand-in for a mysql2/promise pool (tests only). It understands
// exactly the statements in lib/sql.js, models row locks on orders and on
// loyalty accounts (a second transaction's SELECT ... FOR UPDATE of an order, or
// its upsert of a customer's account, waits until the first commits or rolls
// back; the joined receipt is read after the lock is granted, as InnoDB does),
// UNIQUE keys, rollback, and what the server reports for the upsert of
// loyalty_accounts (affected rows with mysql2's FOUND_ROWS flag, insert id set by
// LAST_INSERT_ID(expr)). `statements` records every statement, BEGIN, COMMIT and
// ROLLBACK included: one entry per round trip.

const SQL = require('../lib/sql');

function dbError(code, errno, message, fatal = false) {
  const err = new Error(message);
  err.code = code;
  err.errno = errno;
  err.fatal = fatal;
  return err;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

class FakeDb {
  constructor() {
    this.orders = new Map();
    this.receipts = new Map(); // id -> row
    this.loyaltyTx = new Map(); // order_id -> row
    this.accounts = new Map(); // customer_id -> points
    this.locks = new Map(); // 'orders/<id>' or 'loyalty_accounts/<customer>' -> connection
    this.waiters = [];
    this.down = false;
    this.failures = []; // [{sql, error}] thrown once when that statement runs
    this.statements = [];
    this.connections = { released: 0, destroyed: 0 };
  }

  addOrder(id, fields = {}) {
    this.orders.set(id, {
      id, customer_id: null, customer_email: null, status: 'DELIVERED', total: null,
      completed_at: null, closed_by: null, ...fields,
    });
  }

  failOnce(sql, error) {
    this.failures.push({ sql, error });
  }

  pool() {
    return new FakePool(this);
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((resolve) => resolve());
  }
}

class FakePool {
  constructor(db) {
    this.db = db;
  }

  async getConnection() {
    await tick();
    if (this.db.down) throw dbError('ECONNREFUSED', undefined, 'connect ECONNREFUSED 127.0.0.1:3306', true);
    return new FakeConnection(this.db);
  }

  async query(sql, params) {
    const conn = await this.getConnection();
    try {
      return await conn.query(sql, params);
    } finally {
      conn.release();
    }
  }
}

class FakeConnection {
  constructor(db) {
    this.db = db;
    this.undo = [];
    this.inTx = false;
  }

  async beginTransaction() {
    await tick();
    this.db.statements.push('BEGIN');
    this.inTx = true;
  }

  finish() {
    for (const [id, owner] of this.db.locks) if (owner === this) this.db.locks.delete(id);
    this.undo = [];
    this.inTx = false;
    this.db.wake();
  }

  async commit() {
    await tick();
    this.db.statements.push('COMMIT');
    this.finish();
  }

  async rollback() {
    this.db.statements.push('ROLLBACK');
    for (const restore of this.undo.reverse()) restore();
    this.finish();
  }

  release() {
    this.db.connections.released += 1;
  }

  destroy() {
    this.db.connections.destroyed += 1;
  }

  async lock(key) {
    while (this.db.locks.has(key) && this.db.locks.get(key) !== this) {
      await new Promise((resolve) => this.db.waiters.push(resolve));
    }
    if (this.inTx) this.db.locks.set(key, this);
  }

  async query(sql, params = []) {
    const { db } = this;
    await tick();
    if (db.down) throw dbError('PROTOCOL_CONNECTION_LOST', undefined, 'Connection lost', true);
    db.statements.push(sql);
    const failure = db.failures.findIndex((f) => f.sql === sql);
    if (failure >= 0) {
      const [{ error }] = db.failures.splice(failure, 1);
      throw typeof error === 'function' ? error() : error;
    }
    switch (sql) {
      case SQL.ping:
        return [[{ ok: 1 }], []];
      case SQL.lockOrderWithReceipt: {
        await this.lock(`orders/${params[0]}`);
        const row = db.orders.get(params[0]);
        if (!row) return [[], []];
        const r = [...db.receipts.values()].find((receipt) => receipt.order_id === row.id);
        return [[{
          id: row.id,
          customer_id: row.customer_id,
          customer_email: row.customer_email,
          status: row.status,
          total: row.total,
          receipt_id: r ? r.id : null,
          receipt_customer_id: r ? r.customer_id : null,
          receipt_lines: r ? r.lines : null,
          receipt_subtotal: r ? r.subtotal : null,
          receipt_total: r ? r.total : null,
          receipt_points: r ? r.points : null,
          receipt_created_at: r ? r.created_at : null,
        }], []];
      }
      case SQL.findReceipt: {
        const [id, orderId] = params;
        const rows = [...db.receipts.values()].filter((r) => r.id === id || r.order_id === orderId);
        return [rows.slice(0, 1).map((r) => ({ ...r })), []];
      }
      case SQL.markCompleted: {
        const [customerId, customerEmail, total, id] = params;
        const row = db.orders.get(id);
        const before = { ...row };
        this.undo.push(() => db.orders.set(id, before));
        Object.assign(row, {
          status: 'COMPLETED',
          completed_at: row.completed_at || new Date(),
          closed_by: row.closed_by || 'completion',
          customer_id: row.customer_id || customerId,
          customer_email: row.customer_email || customerEmail,
          total: row.total ?? total,
        });
        return [{ affectedRows: 1 }, undefined];
      }
      case SQL.insertLoyaltyTransaction: {
        const [orderId, customerId, points] = params;
        if (db.loyaltyTx.has(orderId)) throw dbError('ER_DUP_ENTRY', 1062, 'Duplicate entry');
        db.loyaltyTx.set(orderId, { order_id: orderId, customer_id: customerId, points });
        this.undo.push(() => db.loyaltyTx.delete(orderId));
        return [{ affectedRows: 1 }, undefined];
      }
      case SQL.addPoints: {
        const [customerId, points] = params;
        await this.lock(`loyalty_accounts/${customerId}`);
        const had = db.accounts.has(customerId);
        const before = db.accounts.get(customerId) || 0;
        db.accounts.set(customerId, before + points);
        this.undo.push(() => (had ? db.accounts.set(customerId, before) : db.accounts.delete(customerId)));
        // A new row: 1 affected, insert id 0 (no AUTO_INCREMENT column). An existing one: 2, or 1
        // when its value did not change, and LAST_INSERT_ID(points + VALUES(points)) as insert id.
        if (!had) return [{ affectedRows: 1, insertId: 0 }, undefined];
        return [{ affectedRows: points === 0 ? 1 : 2, insertId: before + points }, undefined];
      }
      case SQL.insertReceipt: {
        const [id, orderId, customerId, lines, subtotal, total, points, createdAt] = params;
        const dup = db.receipts.has(id) || [...db.receipts.values()].some((r) => r.order_id === orderId);
        if (dup) throw dbError('ER_DUP_ENTRY', 1062, 'Duplicate entry');
        // MariaDB hands JSON columns back as strings, DECIMALs as numbers (decimalNumbers)
        db.receipts.set(id, {
          id, order_id: orderId, customer_id: customerId, lines, subtotal, total, points, created_at: createdAt,
        });
        this.undo.push(() => db.receipts.delete(id));
        return [{ affectedRows: 1 }, undefined];
      }
      default:
        throw new Error(`FakeDb: unexpected statement: ${sql}`);
    }
  }
}

module.exports = { FakeDb, dbError };
