// Async invocations: a dead call with its attempts, retried from the page (through the confirm
// step) until it succeeds. Extra input: CALL_ID (a call the Rust test let die).
import { check, finish, openUi, run, shot, waitText } from './lib.mjs';

const callId = process.env.CALL_ID;

await run('async retry', async () => {
  const ui = await openUi('#/async');
  const { page } = ui;
  const row = `tr[data-call="${callId}"]`;
  await waitText(page, `${row} td:nth-child(3)`, 'dead');
  await waitText(page, `${row} td:nth-child(4)`, '2');
  const attempts = await page.locator(`${row} + tr .attempts tbody`).textContent();
  check((attempts.match(/503/g) || []).length === 2, `attempts: ${attempts}`);
  await page.selectOption('#async-status', 'dead');
  await waitText(page, '#invocations', callId);
  await shot(page, 'dead');
  await page.click(`[data-retry="${callId}"]`);
  await waitText(page, '.confirm', `Retry call ${callId} of `);
  await page.click('.confirm [data-confirm]');
  await waitText(page, '#notice', `Call ${callId} queued again.`);
  await page.selectOption('#async-status', '');
  await waitText(page, `${row} td:nth-child(3)`, 'succeeded', 30000);
  await waitText(page, `${row} td:nth-child(4)`, '3');
  await finish(ui, 'retried');
});
