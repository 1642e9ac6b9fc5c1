'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { balanceAfterAddPoints, completeOrder, findReceipt } = require('./lib/completion');
const { parseCompletion } = require('./lib/validate');
const SQL = require('./lib/sql');
const { FakeDb, dbError } = require('./test-support/fake-db');

let counter = 0;
const opts = { newReceiptId: () => `rcpt-${++counter}`, now: () => new Date('2024-05-01T12:00:00Z') };

const input = (fields = {}) => parseCompletion({
  orderId: 'ord-1',
  customerId: 'cust-1',
  customerEmail: 'alice@example.com',
  items: [{ name: 'Pizza', quantity: 2, unitPrice: 12.75 }],
  ...fields,
});

function setup(order = {}) {
  const db = new FakeDb();
  db.addOrder('ord-1', { customer_id: 'cust-1', ...order });
  return db;
}

test('completes the order, awards points and writes the receipt in one transaction', async () => {
  const db = setup();
  const outcome = await completeOrder(db.pool(), input(), opts);
  assert.equal(outcome.kind, 'completed');
  assert.equal(outcome.receipt.total, 25.5);
  assert.equal(outcome.receipt.pointsAwarded, 250);
  assert.equal(outcome.loyaltyBalance, 250);
  assert.equal(db.orders.get('ord-1').status, 'COMPLETED');
  assert.equal(db.orders.get('ord-1').closed_by, 'completion');
  assert.equal(db.loyaltyTx.get('ord-1').points, 250);
  // Seven round trips: the balance comes back with the upsert, the receipt with the order lock.
  assert.deepEqual(db.statements, [
    'BEGIN', SQL.lockOrderWithReceipt, SQL.markCompleted, SQL.insertLoyaltyTransaction,
    SQL.addPoints, SQL.insertReceipt, 'COMMIT',
  ]);
  assert.equal(db.locks.size, 0);
  assert.equal(db.connections.released, 1);
});

test('a second completion returns the same receipt and awards nothing, in one locking read', async () => {
  const db = setup();
  const first = await completeOrder(db.pool(), input(), opts);
  db.statements = [];
  const second = await completeOrder(db.pool(), input(), opts);
  assert.equal(second.kind, 'already');
  assert.deepEqual(second.receipt, first.receipt);
  assert.equal(second.loyaltyBalance, undefined);
  assert.deepEqual(db.statements, ['BEGIN', SQL.lockOrderWithReceipt, 'ROLLBACK']);
  assert.equal(db.accounts.get('cust-1'), 250);
  assert.equal(db.loyaltyTx.size, 1);
  assert.equal(db.locks.size, 0);
});

test('an existing receipt is read from the joined columns as stored (JSON text, DATETIME)', async () => {
  const db = setup();
  db.receipts.set('rcpt-old', {
    id: 'rcpt-old', order_id: 'ord-1', customer_id: 'cust-1',
    lines: '[{"name":"Pizza","quantity":2,"unitPrice":12.75,"lineTotal":25.5}]',
    subtotal: 25.5, total: 25.5, points: 250, created_at: new Date('2024-04-30T18:00:00.123Z'),
  });
  const outcome = await completeOrder(db.pool(), input(), opts);
  assert.equal(outcome.kind, 'already');
  assert.deepEqual(outcome.receipt, {
    receiptId: 'rcpt-old',
    orderId: 'ord-1',
    customerId: 'cust-1',
    lines: [{ name: 'Pizza', quantity: 2, unitPrice: 12.75, lineTotal: 25.5 }],
    subtotal: 25.5,
    total: 25.5,
    pointsAwarded: 250,
    createdAt: '2024-04-30T18:00:00.123Z',
  });
  assert.equal(db.accounts.size, 0);
});

test('20 concurrent completions of one order award points exactly once', async () => {
  const db = setup();
  const pool = db.pool();
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => completeOrder(pool, input(), opts)));
  const completed = outcomes.filter((o) => o.kind === 'completed');
  const already = outcomes.filter((o) => o.kind === 'already');
  assert.equal(completed.length, 1);
  assert.equal(already.length, 19);
  for (const o of already) assert.equal(o.receipt.receiptId, completed[0].receipt.receiptId);
  assert.equal(db.accounts.get('cust-1'), 250);
  assert.equal(db.receipts.size, 1);
  assert.equal(db.loyaltyTx.size, 1);
});

test('the balance is the points just added for a new customer, the sum for an existing one', async () => {
  const db = setup();
  db.addOrder('ord-2', { customer_id: 'cust-1' });
  db.addOrder('ord-3', { customer_id: 'cust-1' });
  const first = await completeOrder(db.pool(), input(), opts);
  assert.equal(first.loyaltyBalance, 250);
  const second = await completeOrder(db.pool(), input({ orderId: 'ord-2', items: [{ name: 'x', quantity: 1, unitPrice: 5.99 }] }), opts);
  assert.equal(second.loyaltyBalance, 300);
  // Under 1.00: no points, and the account is left as it was (the server reports 1 row affected).
  const third = await completeOrder(db.pool(), input({ orderId: 'ord-3', items: [{ name: 'mint', quantity: 1, unitPrice: 0.99 }] }), opts);
  assert.equal(third.receipt.pointsAwarded, 0);
  assert.equal(third.loyaltyBalance, 300);
  assert.equal(db.accounts.get('cust-1'), 300);
});

test('the balance from what MariaDB 10.11 reports for addPoints (mysql2 result headers)', () => {
  // [account before (null: none), points added, affectedRows, insertId] as observed.
  const observed = [
    [null, 250, 1, 0], [250, 30, 2, 280], [280, 0, 1, 280], [null, 0, 1, 0], [0, 0, 1, 0], [0, 10, 2, 10],
  ];
  for (const [before, points, affectedRows, insertId] of observed) {
    assert.equal(balanceAfterAddPoints({ affectedRows, insertId }, points), (before || 0) + points, `${before} + ${points}`);
  }
});

test('a new customer whose first order earns no points has a balance of 0, and then the points', async () => {
  const db = setup();
  db.addOrder('ord-2', { customer_id: 'cust-1' });
  const first = await completeOrder(db.pool(), input({ items: [{ name: 'mint', quantity: 1, unitPrice: 0.5 }] }), opts);
  assert.equal(first.loyaltyBalance, 0);
  assert.equal(db.accounts.get('cust-1'), 0);
  const second = await completeOrder(db.pool(), input({ orderId: 'ord-2' }), opts);
  assert.equal(second.loyaltyBalance, 250);
});

test('the balance of one customer is right under concurrent completions of different orders', async () => {
  const db = new FakeDb();
  const orders = Array.from({ length: 10 }, (_, i) => `ord-${i}`);
  orders.forEach((id) => db.addOrder(id, { customer_id: 'cust-1' }));
  const pool = db.pool();
  const outcomes = await Promise.all(orders.map((orderId) => completeOrder(pool, input({ orderId }), opts)));
  assert.ok(outcomes.every((o) => o.kind === 'completed'));
  const balances = outcomes.map((o) => o.loyaltyBalance).sort((a, b) => a - b);
  assert.deepEqual(balances, orders.map((_, i) => 250 * (i + 1)));
  assert.equal(db.accounts.get('cust-1'), 2500);
});

test('a completion that rolls back leaves a concurrent one of the same customer a right balance', async () => {
  const db = setup();
  db.addOrder('ord-2', { customer_id: 'cust-1' });
  // The first to reach insertReceipt fails after its upsert; the other waits on the account row.
  db.failOnce(SQL.insertReceipt, new Error('disk full'));
  const pool = db.pool();
  const [first, second] = await Promise.allSettled([
    completeOrder(pool, input(), opts), completeOrder(pool, input({ orderId: 'ord-2' }), opts),
  ]);
  assert.match(String(first.reason), /disk full/);
  assert.equal(second.value.loyaltyBalance, 250);
  assert.equal(db.accounts.get('cust-1'), 250);
  assert.equal(db.locks.size, 0);
});

test('unknown, cancelled and foreign orders change nothing', async () => {
  const db = setup();
  db.addOrder('ord-c', { status: 'CANCELLED' });
  assert.equal((await completeOrder(db.pool(), input({ orderId: 'nope' }), opts)).kind, 'not_found');
  const cancelled = await completeOrder(db.pool(), input({ orderId: 'ord-c' }), opts);
  assert.equal(cancelled.kind, 'conflict');
  assert.equal(cancelled.status, 'CANCELLED');
  const foreign = await completeOrder(db.pool(), input({ customerId: 'cust-2' }), opts);
  assert.equal(foreign.kind, 'conflict');
  assert.equal(db.receipts.size, 0);
  assert.equal(db.accounts.size, 0);
  assert.equal(db.locks.size, 0);
});

test('an auto-closed order (COMPLETED without receipt) still gets its receipt and points', async () => {
  const db = setup({ status: 'COMPLETED', closed_by: 'auto-close', completed_at: new Date(0) });
  const outcome = await completeOrder(db.pool(), input(), opts);
  assert.equal(outcome.kind, 'completed');
  assert.equal(db.orders.get('ord-1').closed_by, 'auto-close');
  assert.equal(db.accounts.get('cust-1'), 250);
});

test('a failure inside the transaction rolls everything back', async () => {
  const db = setup();
  db.failOnce(SQL.insertReceipt, new Error('disk full'));
  await assert.rejects(completeOrder(db.pool(), input(), opts), /disk full/);
  assert.equal(db.orders.get('ord-1').status, 'DELIVERED');
  assert.equal(db.loyaltyTx.size, 0);
  assert.equal(db.accounts.size, 0);
  assert.equal(db.locks.size, 0);
});

test('a deadlock is retried once in a fresh transaction', async () => {
  const db = setup();
  db.failOnce(SQL.addPoints, dbError('ER_LOCK_DEADLOCK', 1213, 'Deadlock found'));
  const outcome = await completeOrder(db.pool(), input(), opts);
  assert.equal(outcome.kind, 'completed');
  assert.equal(db.accounts.get('cust-1'), 250);
  assert.equal(db.loyaltyTx.size, 1);
});

test('a duplicate key from a concurrent winner returns the existing receipt', async () => {
  const db = setup();
  db.failOnce(SQL.insertLoyaltyTransaction, () => {
    // another process completed the order meanwhile (e.g. lock bypassed)
    db.receipts.set('rcpt-other', {
      id: 'rcpt-other', order_id: 'ord-1', customer_id: 'cust-1', lines: '[]',
      subtotal: 25.5, total: 25.5, points: 250, created_at: new Date(0),
    });
    return dbError('ER_DUP_ENTRY', 1062, 'Duplicate entry');
  });
  const outcome = await completeOrder(db.pool(), input(), opts);
  assert.equal(outcome.kind, 'already');
  assert.equal(outcome.receipt.receiptId, 'rcpt-other');
  assert.deepEqual(outcome.receipt.lines, []);
});

test('a second deadlock is not retried again', async () => {
  const db = setup();
  db.failOnce(SQL.addPoints, dbError('ER_LOCK_DEADLOCK', 1213, 'Deadlock found'));
  db.failOnce(SQL.addPoints, dbError('ER_LOCK_DEADLOCK', 1213, 'Deadlock found'));
  await assert.rejects(completeOrder(db.pool(), input(), opts), { code: 'ER_LOCK_DEADLOCK' });
});

test('a connection lost mid-transaction is destroyed, then retried', async () => {
  const db = setup();
  db.failOnce(SQL.markCompleted, dbError('PROTOCOL_CONNECTION_LOST', undefined, 'lost', true));
  const outcome = await completeOrder(db.pool(), input(), opts);
  assert.equal(outcome.kind, 'completed');
  assert.equal(db.connections.destroyed, 1);
});

test('findReceipt looks up by receipt id or order id', async () => {
  const db = setup();
  const { receipt } = await completeOrder(db.pool(), input(), opts);
  assert.deepEqual(await findReceipt(db.pool(), receipt.receiptId), receipt);
  assert.deepEqual(await findReceipt(db.pool(), 'ord-1'), receipt);
  assert.equal(await findReceipt(db.pool(), 'missing'), null);
});

test('items that do not add up to the stored order total are refused without points', async () => {
  const db = setup({ total: 40.10 });
  const outcome = await completeOrder(db.pool(), input({ items: [{ name: 'Feast', quantity: 1, unitPrice: 40.11 }] }), opts);
  assert.equal(outcome.kind, 'conflict');
  assert.match(outcome.message, /items total 40\.11 does not match the order total 40\.10/);
  assert.equal(db.loyaltyTx.size, 0);
  assert.notEqual(db.orders.get('ord-1').status, 'COMPLETED');
  const ok = await completeOrder(db.pool(), input({ items: [{ name: 'Feast', quantity: 1, unitPrice: 40.10 }] }), opts);
  assert.equal(ok.kind, 'completed');
  assert.equal(ok.receipt.pointsAwarded, 400);
});
