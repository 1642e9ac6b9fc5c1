// Deploy from the Deploy page, scale (and a refused scale shown in words), then remove; every
// change goes through the page's confirm step. Extra input: IMAGE (the function image),
// SECRET_VALUE (the value of secret "token", which must never reach the page).
import { check, finish, openUi, run, shot, waitText } from './lib.mjs';

const image = process.env.IMAGE;

await run('deploy', async () => {
  const ui = await openUi('#/deploy');
  const { page } = ui;
  await waitText(page, '#secrets', 'token');
  await page.fill('#service', 'made-in-ui');
  await page.fill('#image', image);
  await page.fill('#env', 'GREETING=hello world\nMODE=ui');
  await page.fill('#labels', 'team=observability');
  await page.check('#secrets input[value="token"]');
  await page.fill('#memory', '128Mi');
  await page.click('#deploy button[type=submit]');
  await waitText(page, '.confirm', `Deploy made-in-ui from ${image} to openfaas-fn?`);
  await shot(page, 'deploy-confirm');
  await page.click('.confirm [data-confirm]');
  await waitText(page, '#notice', 'made-in-ui deployed.', 60000);
  await waitText(page, '#describe', 'Available replicas1');
  const text = await page.locator('#describe').textContent();
  for (const want of ['GREETING=hello world', 'MODE=ui', 'team=observability', 'token', 'memory: 128Mi']) {
    check(text.includes(want), `describe lacks ${want}: ${text}`);
  }
  check(!(await page.content()).includes(process.env.SECRET_VALUE), 'the secret value reached the page');
  await finish(ui, 'deployed');
});

await run('scale', async () => {
  const ui = await openUi('#/fn/openfaas-fn/made-in-ui');
  const { page } = ui;
  await waitText(page, '#describe', 'Available replicas1');
  await page.fill('#replicas', '2');
  await page.click('#scale');
  await waitText(page, '.confirm', 'Scale made-in-ui to 2 replicas?');
  await page.click('.confirm [data-confirm]');
  await waitText(page, '#notice', 'made-in-ui scaled to 2.', 60000);
  await waitText(page, '#describe', 'Available replicas2');
  // A refused request is explained in the gateway's words, not as raw JSON.
  await page.fill('#replicas', '11');
  await page.click('#scale');
  await page.click('.confirm [data-confirm]');
  await waitText(page, '#notice', 'Scale made-in-ui to 11 replicas failed: replicas must be a whole number from 0 to 10, got 11 (400 Bad Request)');
  check(!(await page.locator('#notice').textContent()).includes('{'), 'raw JSON in the notice');
  await shot(page, 'scale-refused');
  // Cancel leaves everything as it was.
  await page.fill('#replicas', '0');
  await page.click('#scale');
  await page.click('.confirm button:not([data-confirm])');
  check(await page.locator('.confirm').count() === 0, 'cancel did not close the confirm step');
  await waitText(page, '#describe', 'Replicas2');
  await finish(ui, 'scaled');
});

await run('remove', async () => {
  const ui = await openUi('#/fn/openfaas-fn/made-in-ui');
  const { page } = ui;
  await waitText(page, '#describe', 'Replicas2');
  await page.click('#remove');
  await waitText(page, '.confirm', 'Remove made-in-ui and stop its replicas?');
  await shot(page, 'remove-confirm');
  await page.click('.confirm [data-confirm]');
  await waitText(page, '#notice', 'made-in-ui removed.', 60000);
  await waitText(page, '#functions', 'No functions in openfaas-fn.');
  await finish(ui, 'removed');
});
