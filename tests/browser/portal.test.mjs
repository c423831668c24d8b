// End-to-end browser tests for Sportello.
//
// Starts `sportello serve --demo` on a free loopback port with a fresh data dir,
// drives Debian's headless Chromium through playwright-core (no browser download),
// and writes screenshots, the server log and axe-core results to <repo>/artifacts/browser/.
//
// Env: SPORTELLO_TEST_BIN (server binary), CHROMIUM_PATH (browser),
//      SPORTELLO_TEST_BROWSER_DATABASE_URL (optional, passed as --database-url).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const artifacts = path.join(repoRoot, 'artifacts', 'browser');
const serverBin = path.resolve(here, process.env.SPORTELLO_TEST_BIN || '../../target/debug/sportello');
const axeSource = fs.readFileSync(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

const DEMO_FISCAL_CODE = 'FRRMRC70A01D548N';
const DEMO_PASSWORD = 'Demo-Sportello-2026';

let server; // child process
let serverExit; // promise resolved with the exit code
let dataDir;
let baseUrl;
let browser;

/** Ask the OS for a free TCP port on the loopback interface. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Poll GET /healthz until it answers 200; fail early if the server exits. */
async function waitForHealthy(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  serverExit.then((code) => { exited = code; });
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`server exited early (code ${exited}); see ${artifacts}/server.log`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
      lastError = `status ${res.status}`;
    } catch (e) {
      lastError = e.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server not healthy after ${timeoutMs} ms (${lastError}); see ${artifacts}/server.log`);
}

/** Fresh context + page per test; the context is closed when the test ends. */
async function newPage(t, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'it-IT', ...options });
  t.after(() => context.close());
  return context.newPage();
}

function screenshot(page, name) {
  return page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/** Fill and submit the login form; resolves with the final response (after any redirect). */
async function submitLogin(page, fiscalCode, password) {
  await page.goto(`${baseUrl}/accedi`);
  await page.fill('#fiscal_code', fiscalCode);
  await page.fill('#password', password);
  const [res] = await Promise.all([page.waitForNavigation(), page.click('form[action="/accedi"] button[type=submit]')]);
  return res;
}

/** Inject axe-core into the current page and run the WCAG 2.1 A/AA rules. */
async function runAxe(page, options = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate((opts) => axe.run(document, opts), options);
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  assert.ok(fs.existsSync(serverBin), `server binary not found: ${serverBin} (build it or set SPORTELLO_TEST_BIN)`);

  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sportello-browser-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const args = ['serve', '--demo', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir];
  if (process.env.SPORTELLO_TEST_BROWSER_DATABASE_URL) {
    args.push('--database-url', process.env.SPORTELLO_TEST_BROWSER_DATABASE_URL);
  }

  const log = fs.openSync(path.join(artifacts, 'server.log'), 'w');
  server = spawn(serverBin, args, { stdio: ['ignore', log, log] });
  fs.closeSync(log); // the child keeps its own copy of the descriptor
  serverExit = new Promise((resolve) => server.once('exit', (code, signal) => resolve(code ?? signal)));

  await waitForHealthy(baseUrl, 60_000);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
    await serverExit;
    clearTimeout(timer);
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test('home page in Italian', async (t) => {
  const page = await newPage(t);
  const res = await page.goto(`${baseUrl}/`);
  assert.equal(res.status(), 200);
  await screenshot(page, 'home-it');

  assert.equal(await page.getAttribute('html', 'lang'), 'it');
  assert.equal((await page.locator('h1').innerText()).trim(), 'Benvenuto su Sportello');

  const a11y = page.locator('footer #a11y-statement');
  assert.equal(await a11y.count(), 1, 'footer has the accessibility statement link');
  assert.equal((await a11y.innerText()).trim(), 'Dichiarazione di accessibilità');
  assert.equal(await a11y.getAttribute('href'), '/dichiarazione-accessibilita');

  // Bootstrap Italia really loaded: the slim header gets a solid background colour.
  const sheetLoaded = await page.evaluate(() =>
    [...document.styleSheets].some((s) => s.href?.endsWith('/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css') && s.cssRules.length > 0));
  assert.ok(sheetLoaded, 'bootstrap-italia.min.css is loaded and has rules');
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.it-header-slim-wrapper')).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'slim header background is not transparent');
  assert.notEqual(bg, 'transparent');
});

test('language switch', async (t) => {
  const page = await newPage(t);
  await page.goto(`${baseUrl}/`);
  const sw = page.locator('#lang-switch');
  assert.equal((await sw.innerText()).trim(), 'English');

  await Promise.all([page.waitForURL(`${baseUrl}/`), sw.click()]);
  await page.waitForSelector('html[lang=en]');
  await screenshot(page, 'home-en');
  assert.equal((await page.locator('h1').innerText()).trim(), 'Welcome to Sportello');
  assert.equal((await sw.innerText()).trim(), 'Italiano');

  await Promise.all([page.waitForURL(`${baseUrl}/`), sw.click()]);
  await page.waitForSelector('html[lang=it]');
  assert.equal((await page.locator('h1').innerText()).trim(), 'Benvenuto su Sportello');
  assert.equal((await sw.innerText()).trim(), 'English');
});

test('skip link', async (t) => {
  const page = await newPage(t);
  await page.goto(`${baseUrl}/`);
  const skip = page.locator('.skiplinks a').first();
  // Hidden until focused (visually-hidden-focusable clips it to ~1px).
  const hiddenBox = await skip.boundingBox();
  assert.ok(!hiddenBox || hiddenBox.width <= 1 || hiddenBox.height <= 1, `skip link hidden before focus: ${JSON.stringify(hiddenBox)}`);

  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({
    text: document.activeElement.textContent.trim(),
    href: document.activeElement.getAttribute('href'),
    isFirstSkip: document.activeElement === document.querySelector('.skiplinks a'),
  }));
  assert.deepEqual(focused, { text: 'Vai al contenuto principale', href: '#main-container', isFirstSkip: true });
  const box = await skip.boundingBox();
  assert.ok(box && box.width > 10 && box.height > 10, `skip link visible when focused: ${JSON.stringify(box)}`);
  await screenshot(page, 'skip-link');

  await page.keyboard.press('Enter');
  await page.waitForURL(`${baseUrl}/#main-container`);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main-container');
});

test('error page', async (t) => {
  const page = await newPage(t);
  const res = await page.goto(`${baseUrl}/pagina-che-non-esiste`);
  await screenshot(page, 'error-404');
  assert.equal(res.status(), 404);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Pagina non trovata');
  assert.equal(await page.locator('header.it-header-wrapper').count(), 1, 'header present');
  assert.equal(await page.locator('footer #a11y-statement').count(), 1, 'footer with accessibility link present');
});

test('login shows the user\'s organization', async (t) => {
  const page = await newPage(t);

  // Wrong password: 401, error summary alert, still on the login page and signed out.
  const bad = await submitLogin(page, DEMO_FISCAL_CODE, 'password-sbagliata');
  await screenshot(page, 'login-error');
  assert.equal(bad.status(), 401);
  assert.equal(new URL(page.url()).pathname, '/accedi');
  assert.ok(await page.locator('#form-errors[role=alert]').isVisible(), '#form-errors alert visible');
  assert.equal(await page.locator('#current-org').count(), 0, 'not signed in');

  // Right password: redirected to "/" with the user's services and organization.
  const ok = await submitLogin(page, DEMO_FISCAL_CODE, DEMO_PASSWORD);
  await screenshot(page, 'login-ok');
  assert.equal(ok.status(), 200);
  assert.equal(page.url(), `${baseUrl}/`);
  assert.equal((await page.locator('h1').innerText()).trim(), 'I miei servizi');
  assert.match(await page.locator('#current-org').innerText(), /Comune di Ferrara/);
});

test('accessibility (axe-core)', async (t) => {
  // The site's CSP (script-src 'self') would block the injected inline script.
  const page = await newPage(t, { bypassCSP: true });
  const pages = [
    { name: 'home', path: '/' },
    { name: 'login', path: '/accedi' },
    { name: 'accessibility-statement', path: '/dichiarazione-accessibilita' },
    { name: 'not-found', path: '/pagina-che-non-esiste' },
    // Extra states beyond the plain GETs: the error summary and the signed-in header.
    { name: 'login-errors', path: '/accedi (wrong password)', open: () => submitLogin(page, DEMO_FISCAL_CODE, 'password-sbagliata') },
    { name: 'my-services', path: '/ (signed in)', open: () => submitLogin(page, DEMO_FISCAL_CODE, DEMO_PASSWORD) },
  ];
  const results = [];
  for (const p of pages) {
    if (p.open) await p.open();
    else await page.goto(`${baseUrl}${p.path}`);
    const r = await runAxe(page);
    await screenshot(page, `axe-${p.name}`);
    results.push({
      name: p.name,
      path: p.path,
      url: r.url,
      passes: r.passes.length,
      incomplete: r.incomplete.map(({ id, impact, help }) => ({ id, impact, help })),
      violations: r.violations.map(({ id, impact, help, helpUrl, nodes }) => ({
        id, impact, help, helpUrl,
        nodes: nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
      })),
    });
  }
  fs.writeFileSync(path.join(artifacts, 'axe.json'), JSON.stringify(results, null, 2));

  // Guard against a silent no-op: axe must have evaluated rules, and must flag a planted violation.
  for (const p of results) assert.ok(p.passes > 0, `axe evaluated no rule on ${p.path}`);
  await page.evaluate(() => document.querySelector('main').insertAdjacentHTML('beforeend', '<img src="/static/sportello.css" id="planted">'));
  const planted = await runAxe(page, { runOnly: { type: 'rule', values: ['image-alt'] } });
  assert.deepEqual(planted.violations.map((v) => [v.id, v.impact, v.nodes[0].target[0]]), [['image-alt', 'critical', '#planted']]);

  const describe = (p, v) => `${p.path}: [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`;
  for (const p of results) {
    for (const v of p.violations) t.diagnostic(describe(p, v)); // minor/moderate too, for the record
  }
  const severe = results.flatMap((p) => p.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => describe(p, v)));
  assert.deepEqual(severe, [], `serious/critical axe violations:\n${severe.join('\n')}`);
});
