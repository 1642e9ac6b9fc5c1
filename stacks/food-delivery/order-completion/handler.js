'use strict';
// order-completion: completes an order (status, loyalty points, receipt) in
// one MySQL transaction, then sends a thank-you email.
//
// Routes:  POST /              complete an order
//          GET  /receipt/:id   a receipt by receipt id or order id
//          GET  /health        SELECT 1

const db = require('./lib/db');
const completion = require('./lib/completion');
const email = require('./lib/email');
const { ValidationError, parseCompletion, parseReceiptId } = require('./lib/validate');
const SQL = require('./lib/sql');

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function respond(context, status, body) {
  return context.status(status).headers({ ...JSON_HEADERS }).succeed(body);
}

function errorBody(message, extra = {}) {
  return { success: false, error: message, timestamp: new Date().toISOString(), ...extra };
}

function routeParts(path) {
  let parts = String(path || '/').split('?')[0].split('/').filter(Boolean);
  if (parts.length >= 2 && parts[0] === 'function') parts = parts.slice(2);
  return parts;
}

// `curl -d` sends application/x-www-form-urlencoded: ask for JSON instead of
// guessing (without RAW_BODY=true the template would even parse it as form fields).
function isFormEncoded(headers) {
  return String((headers && headers['content-type']) || '').startsWith('application/x-www-form-urlencoded');
}

function parseBody(body, headers) {
  if (isFormEncoded(headers)) {
    throw new ValidationError('body must be JSON: send it with Content-Type: application/json (or text/plain)');
  }
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body === 'string') {
    if (!body.trim()) throw new ValidationError('body must be a JSON object');
    try {
      return JSON.parse(body);
    } catch (_) {
      throw new ValidationError('body is not valid JSON');
    }
  }
  return body;
}

function createHandler({
  getPool = db.getPool,
  sendEmail = email.sendThankYou,
  log = console.log,
  completeOptions = {},
} = {}) {
  async function complete(event, context) {
    const input = parseCompletion(parseBody(event.body, event.headers));
    const outcome = await completion.completeOrder(getPool(), input, completeOptions);
    if (outcome.kind === 'not_found') {
      return respond(context, 404, errorBody(`orderId ${input.orderId} not found`));
    }
    if (outcome.kind === 'conflict') {
      return respond(context, 409, errorBody(outcome.message, { status: outcome.status }));
    }
    if (outcome.kind === 'already') {
      return respond(context, 200, {
        success: true,
        orderId: input.orderId,
        status: 'COMPLETED',
        alreadyCompleted: true,
        pointsAwarded: 0,
        receipt: outcome.receipt,
      });
    }
    const emailResult = await sendEmail(outcome.receipt, input.customerEmail);
    return respond(context, 200, {
      success: true,
      orderId: input.orderId,
      status: 'COMPLETED',
      alreadyCompleted: false,
      pointsAwarded: outcome.receipt.pointsAwarded,
      loyaltyBalance: outcome.loyaltyBalance,
      receipt: outcome.receipt,
      email: emailResult,
    });
  }

  async function receipt(event, context, rawId) {
    let id;
    try {
      id = decodeURIComponent(rawId);
    } catch (_) {
      throw new ValidationError('receipt id is not valid');
    }
    const found = await completion.findReceipt(getPool(), parseReceiptId(id));
    if (!found) return respond(context, 404, errorBody(`receipt ${id} not found`));
    return respond(context, 200, { success: true, receipt: found });
  }

  async function health(event, context) {
    try {
      await getPool().query(SQL.ping);
    } catch (err) {
      log(`[health] database check failed: ${err.code || err.message}`);
      return respond(context, 503, errorBody('database unavailable', {
        status: 'unhealthy', database: 'down',
      }));
    }
    return respond(context, 200, {
      success: true, status: 'ok', database: 'up', timestamp: new Date().toISOString(),
    });
  }

  function route(method, parts) {
    if (parts.length === 0) return { POST: (e, c) => complete(e, c) };
    if (parts.length === 1 && parts[0] === 'health') return { GET: (e, c) => health(e, c) };
    if (parts.length === 2 && parts[0] === 'receipt') {
      return { GET: (e, c) => receipt(e, c, parts[1]) };
    }
    return null;
  }

  return async function handle(event, context) {
    const method = String(event.method || 'GET').toUpperCase();
    const methods = route(method, routeParts(event.path));
    if (!methods) return respond(context, 404, errorBody(`not found: ${event.path}`));
    const fn = methods[method];
    if (!fn) {
      return respond(context, 405, errorBody(`method ${method} not allowed, use ${Object.keys(methods).join(', ')}`));
    }
    try {
      return await fn(event, context);
    } catch (err) {
      if (err instanceof ValidationError) return respond(context, 400, errorBody(err.message));
      if (db.isUnavailable(err)) {
        log(`[db] unavailable: ${err.code || err.message}`);
        return respond(context, 503, errorBody('database unavailable'));
      }
      log(`[error] ${err.code || err.name}: ${String(err.message).slice(0, 200)}`);
      return respond(context, 500, errorBody('internal error'));
    }
  };
}

module.exports = createHandler();
module.exports.createHandler = createHandler;
