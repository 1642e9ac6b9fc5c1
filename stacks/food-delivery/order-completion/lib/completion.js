'use strict';
// Order completion in one transaction of five statements between BEGIN and COMMIT; an order
// already completed (or unknown, or refused) takes one, then ROLLBACK.
//
// The first statement reads the order and its receipt together and row-locks both
// (SQL.lockOrderWithReceipt). That is as safe as locking the order and then reading the receipt
// in a statement of its own, because only a completion writes a receipt, and it does so while
// holding the order's row lock, which it keeps until COMMIT. A concurrent completion of the same
// order waits on that lock; the LEFT JOIN drives from orders, so it reads receipts only after the
// lock is granted, and a locking read sees the latest committed rows (not an older snapshot): it
// finds the receipt the first one committed and returns it unchanged. Completions of different
// orders do not block each other on this statement: in READ COMMITTED (lib/db.js) a receipt that
// does not exist yet takes no gap lock. UNIQUE keys on loyalty_transactions.order_id and
// receipts.order_id make a double award impossible even if the lock were bypassed; the duplicate
// key is then retried, and the retry returns the winner's receipt.

const crypto = require('crypto');
const SQL = require('./sql');
const { isRetryable } = require('./db');

function receiptFromRow(row) {
  const lines = typeof row.lines === 'string' ? JSON.parse(row.lines)
    : Buffer.isBuffer(row.lines) ? JSON.parse(row.lines.toString('utf8')) : row.lines;
  const created = row.created_at instanceof Date ? row.created_at.toISOString() : row.created_at;
  return {
    receiptId: row.id,
    orderId: row.order_id,
    customerId: row.customer_id,
    lines,
    subtotal: Number(row.subtotal),
    total: Number(row.total),
    pointsAwarded: Number(row.points),
    createdAt: created,
  };
}

// The receipt columns of SQL.lockOrderWithReceipt, or null when the order has none yet.
function joinedReceipt(row) {
  if (row.receipt_id === null || row.receipt_id === undefined) return null;
  return receiptFromRow({
    id: row.receipt_id,
    order_id: row.id,
    customer_id: row.receipt_customer_id,
    lines: row.receipt_lines,
    subtotal: row.receipt_subtotal,
    total: row.receipt_total,
    points: row.receipt_points,
    created_at: row.receipt_created_at,
  });
}

// The balance after SQL.addPoints. An existing account reports its new balance as the insert
// id; a new one reports 0 and holds just the points added. (An existing balance of 0 plus 0
// points also reports 0, which is then right as well.)
function balanceAfterAddPoints(result, points) {
  const reported = Number(result.insertId);
  return reported > 0 ? reported : points;
}

// Runs inside an open transaction; returns an outcome, never commits.
async function completeLocked(conn, input, newReceiptId, now) {
  const [rows] = await conn.query(SQL.lockOrderWithReceipt, [input.orderId]);
  if (rows.length === 0) return { kind: 'not_found' };
  const order = rows[0];
  if (order.status === 'CANCELLED') {
    return { kind: 'conflict', status: order.status, message: `order ${input.orderId} is CANCELLED` };
  }
  if (order.customer_id && order.customer_id !== input.customerId) {
    return { kind: 'conflict', status: order.status, message: 'customerId does not match the order' };
  }
  const existing = joinedReceipt(order);
  if (existing) return { kind: 'already', receipt: existing };
  // Points follow the total, so the items sent must add up to the total the order already has:
  // a client cannot award itself points for a bigger order than it placed.
  if (order.total !== null && order.total !== undefined
      && Math.abs(Number(order.total) - input.total) > 0.005) {
    return {
      kind: 'conflict',
      status: order.status,
      message: `the items total ${input.total.toFixed(2)} does not match the order total ${Number(order.total).toFixed(2)}`,
    };
  }

  await conn.query(SQL.markCompleted, [input.customerId, input.customerEmail, input.total, input.orderId]);
  await conn.query(SQL.insertLoyaltyTransaction, [input.orderId, input.customerId, input.points]);
  const [added] = await conn.query(SQL.addPoints, [input.customerId, input.points]);
  const createdAt = now();
  const receiptId = newReceiptId();
  await conn.query(SQL.insertReceipt, [
    receiptId, input.orderId, input.customerId, JSON.stringify(input.lines),
    input.subtotal, input.total, input.points, createdAt,
  ]);
  return {
    kind: 'completed',
    loyaltyBalance: balanceAfterAddPoints(added, input.points),
    receipt: {
      receiptId,
      orderId: input.orderId,
      customerId: input.customerId,
      lines: input.lines,
      subtotal: input.subtotal,
      total: input.total,
      pointsAwarded: input.points,
      createdAt: createdAt.toISOString(),
    },
  };
}

async function rollbackQuietly(conn) {
  try {
    await conn.rollback();
  } catch (_) { /* the connection is broken; it gets destroyed */ }
}

// Completes the order; retries once on a deadlock, a duplicate key (a
// concurrent completion won the race: the retry returns its receipt) or a
// connection dropped from the pool.
async function completeOrder(pool, input, {
  newReceiptId = () => crypto.randomUUID(),
  now = () => new Date(),
} = {}) {
  for (let attempt = 0; ; attempt += 1) {
    let conn = null;
    let broken = false;
    try {
      conn = await pool.getConnection();
      await conn.beginTransaction();
      let outcome;
      try {
        outcome = await completeLocked(conn, input, newReceiptId, now);
      } catch (err) {
        await rollbackQuietly(conn);
        throw err;
      }
      if (outcome.kind === 'completed') await conn.commit();
      else await conn.rollback();
      return outcome;
    } catch (err) {
      broken = Boolean(err && err.fatal);
      if (attempt === 0 && isRetryable(err)) continue;
      throw err;
    } finally {
      if (conn) {
        if (broken) conn.destroy();
        else conn.release();
      }
    }
  }
}

async function findReceipt(pool, id) {
  const [rows] = await pool.query(SQL.findReceipt, [id, id]);
  return rows.length ? receiptFromRow(rows[0]) : null;
}

module.exports = { balanceAfterAddPoints, completeOrder, findReceipt, receiptFromRow };
