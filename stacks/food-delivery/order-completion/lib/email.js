'use strict';
// Thank-you email after a completed order. Simulated by default
// (EMAIL_SIMULATION unset or anything but false/0/no): one log line with the
// order id and nothing else about the customer. Real SMTP via nodemailer when
// EMAIL_SIMULATION=false and SMTP_HOST is set. Never throws: an email failure
// must not undo a committed order.

const fs = require('fs');

const DEFAULT_SMTP_PASSWORD_FILE = '/var/openfaas/secrets/smtp-password';

function emailSettings(env = process.env) {
  const flag = String(env.EMAIL_SIMULATION ?? 'true').trim().toLowerCase();
  const simulate = !['false', '0', 'no', 'off'].includes(flag);
  let password = env.SMTP_PASSWORD || '';
  try {
    password = fs.readFileSync(env.SMTP_PASSWORD_FILE || DEFAULT_SMTP_PASSWORD_FILE, 'utf8')
      .replace(/\r?\n$/, '');
  } catch (_) { /* no secret file: keep SMTP_PASSWORD */ }
  const port = Number(env.SMTP_PORT || 587);
  return {
    simulate,
    host: env.SMTP_HOST || '',
    port,
    secure: env.SMTP_SECURE ? env.SMTP_SECURE === 'true' : port === 465,
    user: env.SMTP_USER || '',
    password,
    from: env.SMTP_FROM || 'orders@example.com',
  };
}

function thankYouMessage(receipt, to, from) {
  const lines = receipt.lines.map((l) => `  ${l.quantity} x ${l.name} @ ${l.unitPrice.toFixed(2)}`
    + ` = ${l.lineTotal.toFixed(2)}`);
  return {
    from,
    to,
    subject: `Thank you for your order ${receipt.orderId}`,
    text: [
      `Thank you for your order ${receipt.orderId}!`,
      '',
      ...lines,
      `Total: ${receipt.total.toFixed(2)}`,
      `Loyalty points earned: ${receipt.pointsAwarded}`,
      `Receipt: ${receipt.receiptId}`,
    ].join('\n'),
  };
}

let transport = null;
let transportKey = '';

function getTransport(settings, createTransport) {
  const key = `${settings.host}:${settings.port}:${settings.user}`;
  if (!transport || key !== transportKey) {
    const create = createTransport || require('nodemailer').createTransport;
    transport = create({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: settings.user ? { user: settings.user, pass: settings.password } : undefined,
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 10000,
    });
    transportKey = key;
  }
  return transport;
}

async function sendThankYou(receipt, to, {
  env = process.env, log = console.log, createTransport = null,
} = {}) {
  const settings = emailSettings(env);
  if (settings.simulate) {
    log(`[email] simulated thank-you email for order ${receipt.orderId}`);
    return { sent: true, simulated: true };
  }
  if (!settings.host) {
    log(`[email] SMTP_HOST not set, no email for order ${receipt.orderId}`);
    return { sent: false, simulated: false, error: 'smtp not configured' };
  }
  try {
    await getTransport(settings, createTransport)
      .sendMail(thankYouMessage(receipt, to, settings.from));
    log(`[email] thank-you email sent for order ${receipt.orderId}`);
    return { sent: true, simulated: false };
  } catch (err) {
    log(`[email] sending failed for order ${receipt.orderId}: ${err.code || err.message}`);
    return { sent: false, simulated: false, error: 'email delivery failed' };
  }
}

module.exports = { emailSettings, sendThankYou, thankYouMessage };
