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
import fs from 'node:fs';
import path from 'node:path';
import {
  DEMO_PASSWORD, artifacts, assertAxeClean, axeRecord, launchBrowser, newPage as openPage,
  runAxe, screenshot, startServer, submitLogin as login,
} from './support.mjs';

const DEMO_FISCAL_CODE = 'FRRMRC70A01D548N';

let server; // { baseUrl, stop() }
let baseUrl;
let browser;

const newPage = (t, options) => openPage(browser, t, options);
const submitLogin = (page, fiscalCode, password) => login(page, baseUrl, fiscalCode, password);

before(async () => {
  server = await startServer({ logName: 'server.log' });
  baseUrl = server.baseUrl;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
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
    results.push(axeRecord(p.name, p.path, r));
  }
  fs.writeFileSync(path.join(artifacts, 'axe.json'), JSON.stringify(results, null, 2));

  // Guards against a silent no-op (rules evaluated, planted violation found), then no serious/critical ones.
  await assertAxeClean(t, page, results);
});
