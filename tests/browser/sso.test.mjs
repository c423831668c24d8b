// End-to-end browser test of single sign-on with the demo relying party "Telecontenzioso"
// (/demo/telecontenzioso, served by the same binary but talking to the provider only over
// HTTP): Anna Verdi, who holds only Telecontenzioso, starts at the demo application, logs in
// on the provider's page and sees the dispute but not the case file; she logs out (RP-initiated
// logout); Marco Ferri, local administrator, enables her to PTT in the console; a new login
// through the provider shows the case-file documents too. Then the accessibility of the
// demo application's pages.
//
// Screenshots go to <repo>/artifacts/browser/sso-*.png, the server log to server-sso.log,
// axe-core results to axe-sso.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEMO_PASSWORD, appendJson, artifacts, assertAxeClean, axeRecord, freePort, launchBrowser,
  newPage as openPage, runAxe, screenshot, startServer, submitLogin,
} from './support.mjs';

const MARCO = 'FRRMRC70A01D548N'; // local administrator, Comune di Ferrara
const ANNA = 'VRDNNA82D50D548K'; // Comune di Ferrara employee, holds Telecontenzioso only
const PTT = 'Processo Tributario Telematico - Ente impositore';
const AXE_FILE = 'axe-sso.json';
const DISPUTE = 'Ricorso n. 123/2026';

let server;
let baseUrl;
let browser;
const axeRecords = []; // { name, path, result } collected along the flow

const newPage = (t, options) => openPage(browser, t, options);
// axe-core is injected as an inline script: only the accessibility pages bypass the CSP.
const axeOptions = { bypassCSP: true };
const shot = (page, name) => screenshot(page, `sso-${name}`);
const demoUrl = () => `${baseUrl}/demo/telecontenzioso`;

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  fs.rmSync(path.join(artifacts, AXE_FILE), { force: true });
  const port = await freePort();
  server = await startServer({
    port,
    logName: 'server-sso.log',
    // The relying party reaches the provider at the public address: it must be this server.
    env: { SPORTELLO_PUBLIC_BASE_URL: `http://127.0.0.1:${port}` },
  });
  baseUrl = server.baseUrl;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function axeHere(page, name) {
  const r = await runAxe(page);
  axeRecords.push(axeRecord(name, new URL(page.url()).pathname + new URL(page.url()).search, r));
}

/** From the demo application's landing page through the provider's login, back to the dispute. */
async function loginThroughProvider(page, label) {
  const res = await page.goto(demoUrl());
  assert.equal(res.status(), 200);
  assert.equal(await page.getAttribute('html', 'lang'), 'it');
  assert.equal((await page.locator('h1').innerText()).trim(), 'Telecontenzioso');
  await shot(page, `${label}-landing`);

  // The provider's login page (the portal's), with the way back in `next`.
  await Promise.all([page.waitForURL(/\/accedi\?next=/), page.click('#rp-login')]);
  assert.match(decodeURIComponent(new URL(page.url()).search), /next=\/oidc\/authorize\?/);
  await page.fill('#fiscal_code', ANNA);
  await page.fill('#password', DEMO_PASSWORD);
  await shot(page, `${label}-provider-login`);
  await Promise.all([
    page.waitForURL(demoUrl()),
    page.click('form:has(#fiscal_code) button[type=submit]'),
  ]);
  assert.equal((await page.locator('h1').innerText()).trim(), 'Le tue controversie');
  assert.equal((await page.locator('#rp-fiscal-code').innerText()).trim(), ANNA);
  assert.match(await page.locator('#dispute').innerText(), new RegExp(DISPUTE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
}

async function logoutFromDemo(page) {
  await Promise.all([page.waitForURL(`${demoUrl()}?state=uscito`), page.click('#rp-logout button[type=submit]')]);
  assert.match(await page.locator('#rp-message').innerText(), /Sei uscito/);
  assert.equal(await page.locator('#dispute').count(), 0);
}

test('Anna sees the case file of her dispute only once enabled to PTT', async (t) => {
  const anna = await newPage(t);

  // Telecontenzioso only: the dispute, not the case file.
  await loginThroughProvider(anna, 'first');
  assert.equal(await anna.locator('#casefile').count(), 0, 'no case-file documents without casefile.read');
  assert.match(await anna.locator('#casefile-unavailable').innerText(), /non è consultabile/);
  assert.doesNotMatch(await anna.locator('main').innerText(), /Controdeduzioni/);
  await shot(anna, 'dispute-only');
  {
    // The same page for axe, in a context without the CSP (another login of hers).
    const a11y = await newPage(t, axeOptions);
    await loginThroughProvider(a11y, 'axe-first');
    assert.equal(await a11y.locator('#casefile').count(), 0);
    await axeHere(a11y, 'dispute-only');
  }

  // RP-initiated logout ends the portal session too.
  await logoutFromDemo(anna);
  await shot(anna, 'logged-out');
  const profile = await anna.goto(`${baseUrl}/profilo`);
  assert.match(new URL(anna.url()).pathname, /^\/accedi/, `portal session over (status ${profile.status()})`);

  // "I miei servizi" links Telecontenzioso to the demo application.
  // Marco enables her to PTT in the console.
  const marco = await newPage(t);
  const res = await submitLogin(marco, baseUrl, MARCO, DEMO_PASSWORD);
  assert.equal(res.status(), 200);
  const list = await marco.goto(`${baseUrl}/admin/utenti?q=verdi`);
  assert.equal(list.status(), 200);
  const href = await marco.locator('#users tbody tr').filter({ hasText: ANNA }).getByRole('link').getAttribute('href');
  assert.match(href, /^\/admin\/utenti\/\d+$/);
  await marco.goto(`${baseUrl}${href}`);
  await marco.selectOption('#profile_id', { label: PTT });
  await Promise.all([marco.waitForURL(`${baseUrl}${href}?esito=abilitato`), marco.click('#enable-form button[type=submit]')]);
  await shot(marco, 'enabled-ptt');

  // A new login through the provider: the case file is there now.
  await loginThroughProvider(anna, 'second');
  const casefile = anna.locator('#casefile');
  assert.equal(await casefile.count(), 1);
  const docs = await casefile.locator('tbody tr').allInnerTexts();
  assert.equal(docs.length, 3);
  for (const d of ['Ricorso introduttivo', 'Controdeduzioni', 'Sentenza']) {
    assert.ok(docs.some((x) => x.includes(d)), `document "${d}" listed`);
  }
  assert.equal(await anna.locator('#casefile-unavailable').count(), 0);
  assert.match(await anna.locator('#rp-profile').innerText(), /Processo Tributario Telematico/);
  await shot(anna, 'dispute-with-casefile');

  // The portal's home lists Telecontenzioso with a link to the demo application.
  await anna.goto(`${baseUrl}/`);
  const link = anna.locator('a.read-more[href="/demo/telecontenzioso"]');
  assert.equal(await link.count(), 1, '"I miei servizi" links to the demo application');
  await shot(anna, 'my-services');
});

test('accessibility of the demo application (axe-core, WCAG 2.1 AA)', async (t) => {
  // The landing, the dispute with the case file (Anna now holds PTT), the logged-out page and
  // a refused callback; the dispute without the case file was checked in the first test.
  const page = await newPage(t, axeOptions);
  await page.goto(demoUrl());
  await axeHere(page, 'landing');
  await loginThroughProvider(page, 'axe');
  await axeHere(page, 'dispute-with-casefile');
  await logoutFromDemo(page);
  await axeHere(page, 'logged-out');
  const refused = await page.goto(`${demoUrl()}/callback?code=x&state=forged`);
  assert.equal(refused.status(), 400);
  await axeHere(page, 'callback-refused');
  await shot(page, 'callback-refused');
  appendJson(AXE_FILE, axeRecords);
  await assertAxeClean(t, page, axeRecords);
});
