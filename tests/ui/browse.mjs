// Functions list, one function, invoke and live logs, with hostile values from the API.
// Extra input: HOSTILE (the env value and log line the Rust test planted).
import { check, finish, gateway, openUi, run, waitText } from './lib.mjs';

const hostile = process.env.HOSTILE;

// First paint as the Performance API reports it, from navigation start: the first load of a
// fresh profile (which includes the 401 challenge that makes the browser send the credentials)
// and five reloads (credentials cached, as for a person who has the UI open).
await run('first paint', async () => {
  const { page, close } = await openUi();
  const measure = async () => {
    await page.waitForSelector('tr[data-function="echo"]');
    return page.evaluate(() => {
      const paint = performance.getEntriesByType('paint');
      const fp = paint.find((p) => p.name === 'first-paint') || paint[0];
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource').filter((r) => r.name.includes('/ui/app.'));
      return { paint: fp ? fp.startTime : Infinity, html: nav.responseEnd,
        bytes: res.reduce((n, r) => n + r.encodedBodySize, nav.encodedBodySize) };
    });
  };
  const cold = await measure();
  const warm = [];
  for (let i = 0; i < 5; i++) {
    await page.reload();
    warm.push(await measure());
  }
  warm.sort((a, b) => a.paint - b.paint);
  const ms = (n) => n.toFixed(1);
  console.log(`first-paint-ms cold ${ms(cold.paint)} (html ${ms(cold.html)}) warm-median ${ms(warm[2].paint)} `
    + `(html ${ms(warm[2].html)}) warm-min ${ms(warm[0].paint)} asset-bytes ${cold.bytes}`);
  // The target is 200 ms; the bound leaves room for a machine shared with parallel builds.
  check(warm[2].paint < 1000, `first paint after a median of ${warm[2].paint} ms`);
  check(cold.bytes < 300 * 1024, `the page loaded ${cold.bytes} bytes`);
  await close();
});

await run('functions list', async () => {
  const ui = await openUi();
  const { page } = ui;
  const row = 'tr[data-function="echo"]';
  await waitText(page, `${row} td:nth-child(9)`, 'Ready');
  await waitText(page, `${row} td:nth-child(3)`, '1/1');
  const cells = await page.locator(`${row} td`).allTextContents();
  check(cells[1].startsWith('rfaas-test/echo:'), `image: ${cells[1]}`);
  check(Number(cells[3]) >= 5, `invocations: ${cells[3]}`);
  check(/^[\d.]+$/.test(cells[4]) && Number(cells[4]) > 0, `req/s: ${cells[4]}`);
  check(/(µs|ms|s)$/.test(cells[5]) && /(µs|ms|s)$/.test(cells[6]), `p50/p99: ${cells[5]} ${cells[6]}`);
  await waitText(page, 'tr[data-function="idle"] td:nth-child(9)', 'Scaled to zero');
  await waitText(page, 'tr[data-function="idle"] td:nth-child(3)', '0/0');
  await waitText(page, '#health', 'healthy');
  await finish(ui, 'functions');
});

await run('function page', async () => {
  const ui = await openUi('#/fn/openfaas-fn/echo');
  const { page } = ui;
  await waitText(page, '#describe', 'Available replicas');
  const text = await page.locator('#describe').textContent();
  check(text.includes(`HOSTILE=${hostile}`), `env value not shown as text: ${text}`);
  check(text.includes('token') && !text.includes('s3cr3t-value'), `secrets: only names: ${text}`);
  check(text.includes(`${gateway}/function/echo.openfaas-fn`), `URL: ${text}`);
  await waitText(page, '#schedule', /^@every 1h · next run \d{4}-/);
  await waitText(page, '#stats', /Last minute\d+ requests/);
  await finish(ui, 'function');
});

await run('invoke', async () => {
  const ui = await openUi('#/invoke/openfaas-fn/echo');
  const { page } = ui;
  await page.selectOption('#method', 'PUT');
  await page.fill('#query', 'a=1&b=x y');
  await page.fill('#headers', "X-Test: it's\nContent-Type: text/plain");
  await page.fill('#body', "hi 'there' $HOME");
  const command = await page.locator('#command').textContent();
  console.log(`command ${command}`);
  check(!command.includes('curl'), `root path needs no curl line: ${command}`);
  await page.fill('#path', '/sub/path');
  await waitText(page, '#command', `curl -X PUT '${gateway}/function/echo.openfaas-fn/sub/path?a=1&b=x y'`);
  await page.click('#invoke button[type=submit]');
  await waitText(page, '#status', '200 OK');
  const body = JSON.parse(await page.locator('#response-body').textContent());
  check(body.method === 'PUT' && body.path === '/sub/path' && body.query === 'a=1&b=x%20y', `echo: ${JSON.stringify(body)}`);
  check(body.body === "hi 'there' $HOME", `body: ${body.body}`);
  check(body.headers['x-test'] === "it's", `header: ${JSON.stringify(body.headers)}`);
  check(!('authorization' in body.headers), 'the UI must not send its credentials to functions');
  await waitText(page, '#response-headers', /x-call-id: [0-9a-f-]{36}/);
  await waitText(page, '#duration', / ms$/);
  await finish(ui, 'invoke');
});

await run('live logs', async () => {
  const ui = await openUi('#/logs/openfaas-fn/echo');
  const { page } = ui;
  await waitText(page, '#log-state', 'streaming');
  // Printed after the page started following: it can only arrive through the live stream.
  const marker = `live-${Date.now()}`;
  const r = await fetch(`${gateway}/function/echo/log?text=${encodeURIComponent(marker + ' ' + hostile)}`);
  check(r.status === 200, `log call answered ${r.status}`);
  await waitText(page, '#logs', `${marker} ${hostile}`);
  const instance = (await page.locator('#logs .line .inst').last().textContent()).trim();
  check(instance.startsWith('rfaas-openfaas-fn-echo-'), `instance: ${instance}`);
  await page.selectOption('#instance', instance);
  await waitText(page, '#logs', marker);
  await page.selectOption('#instance', '');
  await page.uncheck('#follow');
  await waitText(page, '#log-state', 'stream ended');
  await waitText(page, '#logs', marker);
  await finish(ui, 'logs');
});
