'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { createHandler } = require('./handler');
const { FakeDb } = require('./test-support/fake-db');

class Context {
  constructor() {
    this.statusCode = 200;
    this.headerValues = {};
  }

  status(code) { this.statusCode = code; return this; }

  headers(values) { this.headerValues = values; return this; }

  succeed(value) { this.value = value; return this; }

  fail(err) { this.error = err; return this; }
}

const body = (fields = {}) => ({
  orderId: 'ord-1',
  customerId: 'cust-1',
  customerEmail: 'alice@example.com',
  items: [{ name: 'Burger', quantity: 1, unitPrice: 10.99 }],
  ...fields,
});

function setup() {
  const db = new FakeDb();
  db.addOrder('ord-1', { customer_id: 'cust-1' });
  const emails = [];
  const logs = [];
  const handle = createHandler({
    getPool: () => db.pool(),
    sendEmail: async (receipt, to) => { emails.push({ receipt, to }); return { sent: true, simulated: true }; },
    log: (line) => logs.push(line),
  });
  const call = async (method, path, payload) => {
    const ctx = new Context();
    await handle({ method, path, body: payload, headers: {}, query: {} }, ctx);
    assert.equal(ctx.headerValues['Content-Type'], 'application/json');
    return { status: ctx.statusCode, body: ctx.value };
  };
  return { db, emails, logs, call };
}

test('POST / completes the order and emails once', async () => {
  const { emails, call } = setup();
  const res = await call('POST', '/', body());
  assert.equal(res.status, 200);
  assert.equal(res.body.success, true);
  assert.equal(res.body.alreadyCompleted, false);
  assert.equal(res.body.pointsAwarded, 100);
  assert.equal(res.body.receipt.total, 10.99);
  assert.equal(res.body.email.simulated, true);
  const again = await call('POST', '/', body());
  assert.equal(again.status, 200);
  assert.equal(again.body.alreadyCompleted, true);
  assert.equal(again.body.pointsAwarded, 0);
  assert.equal(again.body.receipt.receiptId, res.body.receipt.receiptId);
  assert.equal(emails.length, 1);
  assert.equal(emails[0].to, 'alice@example.com');
});

test('a JSON string body is parsed too', async () => {
  const { call } = setup();
  assert.equal((await call('POST', '/', JSON.stringify(body()))).status, 200);
  assert.equal((await call('POST', '/', Buffer.from('{oops'))).status, 400);
});

test('a form-encoded body (curl -d) is a 400 asking for JSON', async () => {
  const { db } = setup();
  const handle = createHandler({ getPool: () => db.pool(), log: () => {} });
  const ctx = new Context();
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  await handle({ method: 'POST', path: '/', headers, body: { [JSON.stringify(body())]: '' } }, ctx);
  assert.equal(ctx.statusCode, 400);
  assert.match(ctx.value.error, /application\/json/);
});

test('validation errors are 400 naming the field', async () => {
  const { db, call } = setup();
  for (const [payload, field] of [
    [undefined, 'body'], ['', 'body'], [body({ customerEmail: 'x' }), 'customerEmail'],
    [body({ total: 99 }), 'total'], [body({ items: [{ name: 'a', quantity: -1, unitPrice: 1 }] }), 'items[0].quantity'],
  ]) {
    const res = await call('POST', '/', payload);
    assert.equal(res.status, 400);
    assert.equal(res.body.success, false);
    assert.ok(res.body.error.includes(field), `${res.body.error} should name ${field}`);
    assert.ok(res.body.timestamp);
  }
  assert.equal(db.statements.length, 0);
});

test('unknown order is 404, cancelled order 409', async () => {
  const { db, call } = setup();
  db.addOrder('ord-x', { status: 'CANCELLED' });
  assert.equal((await call('POST', '/', body({ orderId: 'nope' }))).status, 404);
  const res = await call('POST', '/', body({ orderId: 'ord-x' }));
  assert.equal(res.status, 409);
  assert.equal(res.body.status, 'CANCELLED');
});

test('GET /receipt/:id by receipt id or order id', async () => {
  const { call } = setup();
  const done = await call('POST', '/', body());
  const byId = await call('GET', `/receipt/${done.body.receipt.receiptId}`);
  assert.equal(byId.status, 200);
  assert.deepEqual(byId.body.receipt, done.body.receipt);
  assert.equal((await call('GET', '/receipt/ord-1')).body.receipt.orderId, 'ord-1');
  assert.equal((await call('GET', '/receipt/missing')).status, 404);
  assert.equal((await call('GET', '/receipt/%E0%A4%A')).status, 400);
});

test('database down gives 503 JSON, health too', async () => {
  const { db, call, logs } = setup();
  assert.equal((await call('GET', '/health')).status, 200);
  db.down = true;
  for (const [method, path, payload] of [['POST', '/', body()], ['GET', '/receipt/r1'], ['GET', '/health']]) {
    const res = await call(method, path, payload);
    assert.equal(res.status, 503);
    assert.equal(res.body.success, false);
    assert.equal(res.body.error, 'database unavailable');
  }
  assert.ok(logs.every((l) => !l.includes('alice')));
});

test('unexpected errors are 500 without details', async () => {
  const handle = createHandler({ getPool: () => { throw new TypeError('secret detail'); }, log: () => {} });
  const ctx = new Context();
  await handle({ method: 'GET', path: '/receipt/r1', body: {} }, ctx);
  assert.equal(ctx.statusCode, 500);
  assert.equal(ctx.value.error, 'internal error');
});

test('routing: 404, 405 and the gateway prefix', async () => {
  const { call } = setup();
  assert.equal((await call('GET', '/nope')).status, 404);
  assert.equal((await call('GET', '/')).status, 405);
  assert.equal((await call('POST', '/health')).status, 405);
  assert.equal((await call('GET', '/function/order-completion/health/')).status, 200);
});

test('an email failure does not undo the order', async () => {
  const db = new FakeDb();
  db.addOrder('ord-1', {});
  const handle = createHandler({
    getPool: () => db.pool(),
    sendEmail: async () => ({ sent: false, simulated: false, error: 'email delivery failed' }),
    log: () => {},
  });
  const ctx = new Context();
  await handle({ method: 'POST', path: '/', body: body() }, ctx);
  assert.equal(ctx.statusCode, 200);
  assert.equal(ctx.value.email.sent, false);
  assert.equal(db.orders.get('ord-1').status, 'COMPLETED');
  assert.equal(db.orders.get('ord-1').customer_id, 'cust-1');
});
