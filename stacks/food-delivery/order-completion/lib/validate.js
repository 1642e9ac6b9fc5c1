'use strict';
// Validation of the POST / payload and the receipt arithmetic: pure, no I/O.
// Money is handled in integer cents so 0.1 + 0.2 never becomes 0.30000000000000004.

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_ITEMS = 200;
const MAX_QUANTITY = 10000;
const MAX_UNIT_PRICE = 1000000;
// The largest amount the DECIMAL(10,2) columns (orders.total, receipts.subtotal/total) hold:
// a bigger order would pass the per-item limits and then fail in the database as a 500.
const MAX_TOTAL_CENTS = 9999999999;
const POINTS_PER_UNIT = 10;

class ValidationError extends Error {}

function fail(message) {
  throw new ValidationError(message);
}

function identifier(body, field) {
  let value = body[field];
  if (value === undefined || value === null || value === '') fail(`${field} is required`);
  if (typeof value === 'number' && Number.isSafeInteger(value)) value = String(value);
  if (typeof value !== 'string' || !ID.test(value)) {
    fail(`${field} must be 1-64 characters of letters, digits, '_', '.', ':' or '-'`);
  }
  return value;
}

function isNumber(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

function toCents(amount) {
  return Math.round(amount * 100);
}

function parseItem(item, index) {
  const where = `items[${index}]`;
  if (!item || typeof item !== 'object' || Array.isArray(item)) fail(`${where} must be an object`);
  const name = typeof item.name === 'string' ? item.name.trim() : '';
  if (!name || name.length > 200) fail(`${where}.name must be a non-empty string of at most 200 characters`);
  const { quantity, unitPrice } = item;
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_QUANTITY) {
    fail(`${where}.quantity must be an integer from 1 to ${MAX_QUANTITY}`);
  }
  if (!isNumber(unitPrice) || unitPrice < 0 || unitPrice > MAX_UNIT_PRICE) {
    fail(`${where}.unitPrice must be a number from 0 to ${MAX_UNIT_PRICE}`);
  }
  const unitCents = toCents(unitPrice);
  return { name, quantity, unitCents, lineCents: unitCents * quantity };
}

// Loyalty points: 10 per whole currency unit of the total.
function pointsFor(totalCents) {
  return Math.floor(totalCents / 100) * POINTS_PER_UNIT;
}

// Returns {orderId, customerId, customerEmail, lines, subtotal, total, points}
// or throws ValidationError naming the field.
function parseCompletion(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) fail('body must be a JSON object');
  const orderId = identifier(body, 'orderId');
  const customerId = identifier(body, 'customerId');
  const customerEmail = body.customerEmail;
  if (typeof customerEmail !== 'string' || customerEmail.length > 254 || !EMAIL.test(customerEmail)) {
    fail('customerEmail must be a valid email address');
  }
  if (!Array.isArray(body.items) || body.items.length === 0) fail('items must be a non-empty array');
  if (body.items.length > MAX_ITEMS) fail(`items must have at most ${MAX_ITEMS} entries`);
  const parsed = body.items.map(parseItem);
  const subtotalCents = parsed.reduce((sum, line) => sum + line.lineCents, 0);
  if (subtotalCents > MAX_TOTAL_CENTS) {
    fail(`total of the items (${(subtotalCents / 100).toFixed(2)}) must be at most ${(MAX_TOTAL_CENTS / 100).toFixed(2)}`);
  }
  if (body.total !== undefined && body.total !== null) {
    if (!isNumber(body.total) || body.total < 0) fail('total must be a non-negative number');
    if (Math.abs(toCents(body.total) - subtotalCents) > 1) {
      fail(`total ${body.total} does not match the items (${(subtotalCents / 100).toFixed(2)})`);
    }
  }
  const lines = parsed.map((l) => ({
    name: l.name,
    quantity: l.quantity,
    unitPrice: l.unitCents / 100,
    lineTotal: l.lineCents / 100,
  }));
  return {
    orderId,
    customerId,
    customerEmail,
    lines,
    subtotal: subtotalCents / 100,
    total: subtotalCents / 100,
    points: pointsFor(subtotalCents),
  };
}

function parseReceiptId(value) {
  if (typeof value !== 'string' || !ID.test(value)) {
    fail("receipt id must be 1-64 characters of letters, digits, '_', '.', ':' or '-'");
  }
  return value;
}

module.exports = { ValidationError, parseCompletion, parseReceiptId, pointsFor, toCents };
