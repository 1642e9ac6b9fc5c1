'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { ValidationError, parseCompletion, pointsFor } = require('./lib/validate');

const valid = () => ({
  orderId: 'ord-1',
  customerId: 'cust-1',
  customerEmail: 'alice@example.com',
  items: [{ name: 'Pizza', quantity: 2, unitPrice: 9.95 }, { name: 'Cola', quantity: 1, unitPrice: 2.5 }],
});

function rejects(body, field) {
  assert.throws(() => parseCompletion(body), (err) => {
    assert.ok(err instanceof ValidationError, `not a ValidationError: ${err}`);
    assert.match(err.message, new RegExp(field.replace(/[[\]]/g, '\\$&')));
    return true;
  });
}

test('computes lines, totals and points from the items', () => {
  const parsed = parseCompletion(valid());
  assert.equal(parsed.subtotal, 22.4);
  assert.equal(parsed.total, 22.4);
  assert.equal(parsed.points, 220);
  assert.deepEqual(parsed.lines[0], { name: 'Pizza', quantity: 2, unitPrice: 9.95, lineTotal: 19.9 });
});

test('a given total must match the items within 0.01', () => {
  assert.equal(parseCompletion({ ...valid(), total: 22.4 }).total, 22.4);
  assert.equal(parseCompletion({ ...valid(), total: 22.41 }).total, 22.4);
  assert.equal(parseCompletion({ ...valid(), total: 22.39 }).total, 22.4);
  rejects({ ...valid(), total: 22.42 }, 'total');
  rejects({ ...valid(), total: 100 }, 'total');
  rejects({ ...valid(), total: '22.40' }, 'total');
});

test('an order total beyond DECIMAL(10,2) is a 400, not a database error', () => {
  const item = (quantity) => ({ name: 'Caviar', quantity, unitPrice: 1000000 });
  assert.equal(parseCompletion({ ...valid(), items: [item(99)] }).total, 99000000);
  rejects({ ...valid(), items: [item(100)] }, 'total');
  rejects({ ...valid(), items: [item(99), { name: 'Tip', quantity: 1, unitPrice: 1000000 }] }, 'total');
});

test('cents arithmetic does not drift', () => {
  const body = { ...valid(), items: [{ name: 'a', quantity: 3, unitPrice: 0.1 }, { name: 'b', quantity: 1, unitPrice: 0.2 }] };
  const parsed = parseCompletion(body);
  assert.equal(parsed.total, 0.5);
  assert.equal(parsed.points, 0);
});

test('points are 10 per whole currency unit', () => {
  assert.equal(pointsFor(0), 0);
  assert.equal(pointsFor(99), 0);
  assert.equal(pointsFor(100), 10);
  assert.equal(pointsFor(2599), 250);
});

test('numeric ids are accepted as strings', () => {
  assert.equal(parseCompletion({ ...valid(), orderId: 1001 }).orderId, '1001');
});

test('each invalid field is named in the error', () => {
  const cases = [
    [null, 'body'],
    [[], 'body'],
    [{ ...valid(), orderId: undefined }, 'orderId'],
    [{ ...valid(), orderId: 'bad id' }, 'orderId'],
    [{ ...valid(), customerId: '' }, 'customerId'],
    [{ ...valid(), customerEmail: 'nope' }, 'customerEmail'],
    [{ ...valid(), customerEmail: undefined }, 'customerEmail'],
    [{ ...valid(), items: [] }, 'items'],
    [{ ...valid(), items: 'pizza' }, 'items'],
    [{ ...valid(), items: [null] }, 'items[0]'],
    [{ ...valid(), items: [{ quantity: 1, unitPrice: 1 }] }, 'items[0].name'],
    [{ ...valid(), items: [{ name: 'x', quantity: 0, unitPrice: 1 }] }, 'items[0].quantity'],
    [{ ...valid(), items: [{ name: 'x', quantity: 1.5, unitPrice: 1 }] }, 'items[0].quantity'],
    [{ ...valid(), items: [{ name: 'x', quantity: 1, unitPrice: 1 }, { name: 'y', quantity: 1, unitPrice: -1 }] }, 'items[1].unitPrice'],
    [{ ...valid(), items: [{ name: 'x', quantity: 1, unitPrice: 'free' }] }, 'items[0].unitPrice'],
  ];
  for (const [body, field] of cases) rejects(body, field);
});
