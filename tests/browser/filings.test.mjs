// End-to-end browser test of the integrated filings ("La mia scrivania", seed 004):
// Roberto Esposito starts "Avvio di impresa", saves a draft, comes back, completes and
// sends it; INPS and the Chamber of Commerce give their protocol numbers at once while
// INAIL is down; the desk shows two protocols and one failed delivery; INAIL comes back,
// he resends to INAIL alone and its protocol appears; the simulated agencies (mounted by
// `serve --demo` under /demo-agency) counted exactly one filing each, and the other two
// got no second request. Alessandra Moretti, not enabled at INAIL, is told before she
// starts. Mail goes to a real SMTP sink; axe-core checks every page state.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  DEMO_PASSWORD, appendJson, artifacts, assertAxeClean, axeRecord, fiscalCode, freePort,
  launchBrowser, makeDataDir, newPage as openPage, removeDataDir, runAxe, screenshot, sleep,
  startServerOn, startSmtpSink, submitLogin,
} from './support.mjs';

const ROBERTO = { fiscalCode: 'SPSRRT77P03D548A', email: 'roberto.esposito@demo.sportello.localhost' };
const ALESSANDRA = fiscalCode('MRTLSN85E50D548');
const AXE_FILE = 'axe-filings.json';
const AXE_OPTIONS = { bypassCSP: true }; // the CSP (script-src 'self') would block axe's inline script

let browser;

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  fs.rmSync(`${artifacts}/${AXE_FILE}`, { force: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

const shot = (page, name) => screenshot(page, `filings-${name}`);
const pathOf = (page) => new URL(page.url()).pathname;

async function world(t) {
  const mailbox = await startSmtpSink({ logName: 'smtp-sink-filings.log' });
  const dataDir = makeDataDir();
  const port = await freePort();
  const server = await startServerOn(dataDir, {
    port,
    logName: 'server-filings.log',
    env: {
      SPORTELLO_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      SPORTELLO_MAIL__SMTP_URL: `smtp://127.0.0.1:${mailbox.port}`,
      SPORTELLO_OUTBOX__POLL_INTERVAL_MS: '100',
      // Quick retries, so that INAIL's outage ends in "failed" within seconds.
      SPORTELLO_OUTBOX__BASE_DELAY_MS: '200',
      SPORTELLO_OUTBOX__MAX_DELAY_SECONDS: '1',
    },
  });
  t.after(async () => {
    await server.stop();
    await mailbox.stop();
    removeDataDir(dataDir);
  });
  return { mailbox, baseUrl: server.baseUrl };
}

async function control(w, agency, body) {
  const res = await fetch(`${w.baseUrl}/demo-agency/${agency}/control`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `control ${agency}: ${await res.text()}`);
}

async function stats(w) {
  const res = await fetch(`${w.baseUrl}/demo-agency/stats`);
  assert.equal(res.status, 200);
  return res.json();
}

async function signedIn(t, w, code) {
  const page = await openPage(browser, t, AXE_OPTIONS);
  const res = await submitLogin(page, w.baseUrl, code, DEMO_PASSWORD);
  assert.equal(res.status(), 200, `login of ${code}`);
  assert.equal(pathOf(page), '/');
  return page;
}

async function axeCheck(records, page, name, label) {
  const record = axeRecord(`filings-${name}`, label, await runAxe(page));
  await shot(page, `axe-${name}`);
  appendJson(AXE_FILE, [record]);
  records.push(record);
}

async function clickAndWait(page, locator) {
  const [res] = await Promise.all([page.waitForNavigation(), locator.click()]);
  return res;
}

/** Reload the page until `check()` holds (the deliveries happen in the background). */
async function reloadUntil(page, check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      await shot(page, 'timeout');
      assert.fail(`${what}: not reached within ${timeoutMs} ms`);
    }
    await sleep(300);
    await page.reload();
  }
}

const recipientRow = (page, code) => page.locator(`[data-recipient="${code}"]`).first();
const stateOf = (page, code) => recipientRow(page, code).getAttribute('data-state');
const protocolOf = async (page, code) => {
  const p = recipientRow(page, code).locator('.protocol');
  return (await p.count()) > 0 ? (await p.first().innerText()).trim() : null;
};

/** The form control for a field key (the service form names inputs by key). */
const input = (page, key) => page.locator(`form [name="${key}"]`);

const VALUES = {
  codice_fiscale: '01234567897',
  denominazione: 'Estense Costruzioni S.r.l.',
  sede_comune: 'Ferrara',
  sede_indirizzo: 'Via Garibaldi 12',
  data_inizio: '2026-12-01',
  ateco: '41.20.00',
  descrizione_attivita: 'Costruzione di edifici residenziali e non residenziali',
  dipendenti: '4',
  pec: 'estense@pec.example.it',
};

async function fill(page, key, value) {
  const el = input(page, key);
  assert.equal(await el.count(), 1, `one control named ${key}`);
  const type = await el.getAttribute('type');
  if (type === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new Error(`date ${value}`);
  if (type !== 'date' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split('-');
    await el.fill(`${d}/${m}/${y}`);
  } else {
    await el.fill(value);
  }
}

test('Avvio di impresa: draft, send, INAIL down, resend to INAIL alone', { timeout: 180_000 }, async (t) => {
  const w = await world(t);
  const axe = [];
  const page = await signedIn(t, w, ROBERTO.fiscalCode);

  // The desk offers the service with its three recipients.
  await page.goto(`${w.baseUrl}/scrivania`);
  assert.equal(pathOf(page), '/scrivania');
  const card = page.locator('[data-service="AVVIO-IMPRESA"]');
  assert.equal(await card.count(), 1, 'Avvio di impresa offered on the desk');
  for (const code of ['INPS', 'INAIL', 'CCIAA-FERA']) {
    assert.equal(await card.locator(`[data-service-recipient="${code}"]`).count(), 1, `${code} among the recipients`);
  }
  await axeCheck(axe, page, 'desk', '/scrivania');

  // Start, fill two fields, save the draft.
  await clickAndWait(page, card.locator('a[id^="start-AVVIO-IMPRESA-"]').first());
  assert.match(pathOf(page), /^\/scrivania\/servizi\/AVVIO-IMPRESA$/);
  await axeCheck(axe, page, 'form', '/scrivania/servizi/AVVIO-IMPRESA');
  await fill(page, 'codice_fiscale', VALUES.codice_fiscale);
  await fill(page, 'denominazione', VALUES.denominazione);
  await clickAndWait(page, page.locator('#save-draft'));
  assert.match(pathOf(page), /^\/scrivania\/pratiche\/\d+$/);
  const filingPath = pathOf(page);
  assert.match(await page.locator('#notice').innerText(), /[Bb]ozza salvata/);

  // Come back later: the draft waits among "Pratiche in bozza".
  await page.goto(`${w.baseUrl}/scrivania?tray=drafts`);
  const draftRow = page.locator(`#filings tr[data-filing="${filingPath.split('/').pop()}"]`);
  assert.equal(await draftRow.count(), 1, 'the draft is listed among the drafts');
  await page.goto(`${w.baseUrl}${filingPath}`);
  await clickAndWait(page, page.locator('#resume-draft'));
  assert.equal(await input(page, 'denominazione').inputValue(), VALUES.denominazione, 'the draft is filled in again');

  // Sending with a missing field names it and sends nothing.
  await clickAndWait(page, page.locator('#send-filing'));
  assert.ok(await page.locator('.is-invalid').count() > 0, 'the missing fields are marked');
  await axeCheck(axe, page, 'form-errors', '/scrivania/servizi/AVVIO-IMPRESA (errors)');
  assert.equal((await stats(w)).INPS.requests, 0, 'nothing delivered');

  // INAIL goes down; complete and send.
  await control(w, 'inail', { mode: 'down' });
  for (const [k, v] of Object.entries(VALUES)) await fill(page, k, v);
  await input(page, 'forma_giuridica').selectOption('S.r.l.');
  await clickAndWait(page, page.locator('#send-filing'));
  assert.equal(pathOf(page), filingPath, 'the same filing, now sent');
  const reference = (await page.locator('#filing-reference').innerText()).trim();
  assert.match(reference, /^SI-\d{4}-\d{7}$/);

  // Two protocols at once; INAIL's delivery fails after its retries and says so.
  await reloadUntil(page, async () => (await protocolOf(page, 'INPS')) && (await protocolOf(page, 'CCIAA-FERA'))
    && (await stateOf(page, 'INAIL')) === 'failed', 'INPS and CCIAA protocols, INAIL failed');
  assert.match(await protocolOf(page, 'INPS'), /^INPS-\d{4}-\d{7}$/);
  assert.match(await protocolOf(page, 'CCIAA-FERA'), /^CCIAA-\d{4}-\d{7}$/);
  assert.equal(await protocolOf(page, 'INAIL'), null, 'no INAIL protocol yet');
  await axeCheck(axe, page, 'filing-failed', `${filingPath} (INAIL failed)`);

  // The desk shows the filing in progress with two protocols and a failed delivery.
  await page.goto(`${w.baseUrl}/scrivania?tray=in_progress`);
  const row = page.locator(`#filings tr[data-reference="${reference}"]`);
  assert.equal(await row.count(), 1, 'the filing is in progress');
  assert.equal(await row.locator('.protocol').count(), 2, 'two protocols on the desk');
  assert.equal(await row.locator('.delivery-failed').count(), 1, 'one failed delivery on the desk');
  await axeCheck(axe, page, 'desk-in-progress', '/scrivania?tray=in_progress');

  // The user was told that INAIL needs his action.
  await w.mailbox.waitFor({ to: ROBERTO.email, subject: `Pratica ${reference}: azione richiesta per INAIL` });

  // INAIL comes back; resend to INAIL alone.
  const before = await stats(w);
  await control(w, 'inail', { mode: 'ok' });
  await page.goto(`${w.baseUrl}${filingPath}`);
  assert.equal(await page.locator('[id^="resend-"]').count(), 1, 'only INAIL can be resent');
  await clickAndWait(page, page.locator('#resend-INAIL'));
  await reloadUntil(page, async () => (await protocolOf(page, 'INAIL')) !== null, 'INAIL protocol');
  assert.match(await protocolOf(page, 'INAIL'), /^INAIL-\d{4}-\d{7}$/);
  await axeCheck(axe, page, 'filing-complete', `${filingPath} (all protocols)`);

  // Each agency filed it exactly once; INPS and CCIAA got no second request.
  const after = await stats(w);
  for (const agency of ['INPS', 'INAIL', 'CCIAA']) assert.equal(after[agency].filings, 1, `${agency} filed it once`);
  assert.equal(after.INPS.requests, before.INPS.requests, 'no new request to INPS');
  assert.equal(after.CCIAA.requests, before.CCIAA.requests, 'no new request to CCIAA');

  await w.mailbox.waitFor({ to: ROBERTO.email, subject: `Pratica ${reference}: presa in carico da tutti gli enti` });

  // Searching by INAIL's protocol finds it.
  await page.goto(`${w.baseUrl}/scrivania?text=${encodeURIComponent(await (async () => {
    await page.goto(`${w.baseUrl}${filingPath}`);
    return protocolOf(page, 'INAIL');
  })())}`);
  assert.equal(await page.locator(`#filings tr[data-reference="${reference}"]`).count(), 1, 'found by INAIL protocol');

  await assertAxeClean(t, page, axe);
});

test('a user not enabled at INAIL is told before she starts', { timeout: 120_000 }, async (t) => {
  const w = await world(t);
  const axe = [];
  const page = await signedIn(t, w, ALESSANDRA);
  await page.goto(`${w.baseUrl}/scrivania`);
  const card = page.locator('[data-service="AVVIO-IMPRESA"]');
  assert.equal(await card.count(), 1);
  const warning = card.locator('[id^="missing-AVVIO-IMPRESA-"]');
  assert.equal(await warning.count(), 1, 'a warning before she starts');
  assert.match(await warning.innerText(), /INAIL/);
  assert.equal(await card.locator('a[id^="start-AVVIO-IMPRESA-"]').count(), 0, 'no way to start it');
  await axeCheck(axe, page, 'desk-missing', '/scrivania (not enabled at INAIL)');
  await assertAxeClean(t, page, axe);
});
