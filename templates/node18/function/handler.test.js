'use strict';

// Runs during `docker build` with `npm test` (node --test). A failing test
// fails the build; pass the build arg TEST_ENABLED=false to skip.
const test = require('node:test');
const assert = require('node:assert');

const handler = require('./handler');

function fakeContext() {
  const ctx = {
    statusCode: 200,
    headerValues: {},
    result: undefined,
    status(code) { if (code === undefined) return this.statusCode; this.statusCode = code; return this; },
    headers(values) { if (values === undefined) return this.headerValues; this.headerValues = values; return this; },
    succeed(value) { this.result = value; return value; },
    fail(error) { this.statusCode = 500; this.result = error; return error; },
  };
  return ctx;
}

test('handler echoes the body with status 200', async () => {
  const context = fakeContext();
  const event = {
    body: { name: 'rfaas' },
    headers: { 'content-type': 'application/json' },
    method: 'POST',
    query: {},
    path: '/',
  };
  await handler(event, context);
  assert.strictEqual(context.statusCode, 200);
  assert.deepStrictEqual(context.result, { body: { name: 'rfaas' }, 'content-type': 'application/json' });
});
