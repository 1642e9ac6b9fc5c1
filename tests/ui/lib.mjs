// Shared by the browser tests: Debian's Chromium driven by playwright-core, against the gateway
// the Rust test (tests/it/gateway_ui.rs) started. Input comes from the environment:
//   PLAYWRIGHT_CORE   path of playwright-core's index.mjs (installed by the Rust test)
//   RFAAS_UI_URL      the gateway's URL; RFAAS_UI_PASSWORD its admin password
//   UI_SCREENSHOTS    where screenshots go
// Every check that fails throws; the script then exits 1 with the reason on stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const { chromium } = await import(process.env.PLAYWRIGHT_CORE);

export const gateway = process.env.RFAAS_UI_URL;
const password = process.env.RFAAS_UI_PASSWORD;
const shots = process.env.UI_SCREENSHOTS;

// Chromium's background services would try to reach the internet, which this machine refuses.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/// A fresh browser profile and a page logged in the way a person is: the credentials are given
/// once for /ui/ (in the URL, as typed into the login dialog) and then come from the browser's
/// own cache for every API call the page makes.
export async function openUi(hash = '') {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rfaas-ui-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: ARGS, viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { errors.push(`unexpected dialog: ${d.message()}`); d.dismiss(); });
  const url = new URL('/ui/' + hash, gateway);
  url.username = 'admin';
  url.password = password;
  const response = await page.goto(url.href);
  check(response.status() === 200, `GET /ui/ answered ${response.status()}`);
  return {
    page, errors,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function check(ok, message) {
  if (!ok) throw new Error(message);
}

/// Waits until `selector`'s text satisfies `want` (a string it contains, or a RegExp).
export async function waitText(page, selector, want, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = (await page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => '')) || '';
    if (typeof want === 'string' ? text.includes(want) : want.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`${selector}: wanted ${want}, last saw ${JSON.stringify(text.slice(0, 500))}`);
}

export async function shot(page, name) {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/// Fails if markup from the API became elements (the page itself has no img or script in main;
/// the CSP would stop the script, so the elements are what shows an escaping bug) or ran.
export async function noInjection(page, errors) {
  const injected = await page.evaluate(() => document.querySelectorAll('main img, main script, main iframe').length);
  check(injected === 0, `${injected} element(s) from hostile values were put on the page`);
  check(await page.evaluate(() => window.__xss === undefined), 'a hostile value ran as script');
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
}

/// The end of a step: nothing injected, a screenshot named `name`, the browser closed.
export async function finish(ui, name) {
  await noInjection(ui.page, ui.errors);
  await shot(ui.page, name);
  await ui.close();
}

/// Runs `steps` and reports; any failure exits 1.
export async function run(name, steps) {
  try {
    await steps();
    console.log(`ok ${name}`);
  } catch (e) {
    console.error(`FAILED ${name}: ${e.stack || e.message}`);
    process.exit(1);
  }
}
