'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { emailSettings, sendThankYou, thankYouMessage } = require('./lib/email');

const receipt = {
  receiptId: 'rcpt-1', orderId: 'ord-1', customerId: 'cust-1', total: 25.5, subtotal: 25.5,
  pointsAwarded: 250, lines: [{ name: 'Pizza', quantity: 2, unitPrice: 12.75, lineTotal: 25.5 }],
};
const noSecret = { SMTP_PASSWORD_FILE: '/nonexistent/smtp-password' };

test('simulation is the default and logs only the order id', async () => {
  const logs = [];
  const result = await sendThankYou(receipt, 'alice@example.com', { env: { ...noSecret }, log: (l) => logs.push(l) });
  assert.deepEqual(result, { sent: true, simulated: true });
  assert.equal(logs.length, 1);
  assert.match(logs[0], /ord-1/);
  assert.doesNotMatch(logs[0], /alice|cust-1|25\.5/);
});

test('EMAIL_SIMULATION=false uses SMTP', async () => {
  const sent = [];
  const createTransport = (options) => ({ options, sendMail: async (msg) => { sent.push({ options, msg }); } });
  const env = { ...noSecret, EMAIL_SIMULATION: 'false', SMTP_HOST: 'smtp.test', SMTP_PORT: '2525', SMTP_USER: 'u', SMTP_PASSWORD: 'p', SMTP_FROM: 'shop@test' };
  const result = await sendThankYou(receipt, 'alice@example.com', { env, log: () => {}, createTransport });
  assert.deepEqual(result, { sent: true, simulated: false });
  assert.equal(sent[0].msg.to, 'alice@example.com');
  assert.equal(sent[0].msg.from, 'shop@test');
  assert.equal(sent[0].options.port, 2525);
  assert.deepEqual(sent[0].options.auth, { user: 'u', pass: 'p' });
});

test('SMTP failure is reported, not thrown', async () => {
  const createTransport = () => ({ sendMail: async () => { throw Object.assign(new Error('refused'), { code: 'ECONNECTION' }); } });
  const env = { ...noSecret, EMAIL_SIMULATION: 'false', SMTP_HOST: 'smtp.fail', SMTP_PORT: '25' };
  const result = await sendThankYou(receipt, 'a@b.c', { env, log: () => {}, createTransport });
  assert.equal(result.sent, false);
});

test('real mode without SMTP_HOST sends nothing', async () => {
  const result = await sendThankYou(receipt, 'a@b.c', { env: { ...noSecret, EMAIL_SIMULATION: 'false' }, log: () => {} });
  assert.deepEqual(result, { sent: false, simulated: false, error: 'smtp not configured' });
});

test('settings and message', () => {
  assert.equal(emailSettings({ ...noSecret }).simulate, true);
  assert.equal(emailSettings({ ...noSecret, EMAIL_SIMULATION: 'FALSE' }).simulate, false);
  assert.equal(emailSettings({ ...noSecret, SMTP_PORT: '465' }).secure, true);
  const msg = thankYouMessage(receipt, 'a@b.c', 'shop@test');
  assert.match(msg.subject, /ord-1/);
  assert.match(msg.text, /2 x Pizza @ 12\.75 = 25\.50/);
  assert.match(msg.text, /250/);
});
