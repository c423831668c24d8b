// End-to-end browser tests for Sportello's delegated access: the head of an office of
// Regione Emilia-Romagna asks for a local administrator (signed letter attached), the
// central administrator approves, the new local administrator activates his account,
// creates an employee, enables him to PTT (which opens Telecontenzioso too), is refused
// a second profile of the same application, and disables the account; then the
// accessibility of the console pages.
//
// Starts a real SMTP sink (tests/support/smtp_sink.py) and `sportello serve --demo`
// sending mail to it, then drives Debian's headless Chromium through playwright-core.
// Screenshots go to <repo>/artifacts/browser/delegation-*.png, the server log to
// server-delegation.log, axe-core results to axe-delegation.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEMO_PASSWORD, appendJson, artifacts, assertAxeClean, axeRecord, fiscalCode, freePort,
  launchBrowser, newPage as openPage, runAxe, screenshot, startServer, startSmtpSink,
  submit, submitLogin as login,
} from './support.mjs';

const GIULIA = 'BNCGLI75C45H501W'; // central administrator
const MARCO = 'FRRMRC70A01D548N'; // local administrator, Comune di Ferrara
const ANNA = 'VRDNNA82D50D548K'; // Comune di Ferrara employee, holds Telecontenzioso
const REGION = 'Regione Emilia-Romagna';
const PTT = 'Processo Tributario Telematico - Ente impositore';
const PTT_READ_ONLY = 'Processo Tributario Telematico - Ente impositore - sola consultazione';
const AXE_FILE = 'axe-delegation.json';

const SUBJECT_FIRST_ACCESS = 'Sportello: la tua utenza';
const SUBJECT_APPOINTED = `Sportello: sei amministratore locale delle utenze per ${REGION}`;
const SUBJECT_ENABLED = `Sportello: abilitazione a ${PTT}`;
const subjectRequest = (id) => `${REGION} - nomina amministratore locale delle utenze (richiesta n. ${id})`;

let server; // { baseUrl, stop() }
let baseUrl;
let mailbox;
let browser;
let tmpDir; // the appointment letter
let letterPath;

const newPage = (t, options) => openPage(browser, t, options);
const submitLogin = (page, fiscal, password) => login(page, baseUrl, fiscal, password);
const shot = (page, name) => screenshot(page, `delegation-${name}`);
const pathOf = (page) => new URL(page.url()).pathname;
const textOf = async (page, selector) => (await page.locator(selector).innerText()).trim();
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  fs.rmSync(path.join(artifacts, AXE_FILE), { force: true }); // this run's results only
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sportello-letter-'));
  letterPath = path.join(tmpDir, 'lettera-nomina.pdf');
  fs.writeFileSync(letterPath, '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

  mailbox = await startSmtpSink({ logName: 'smtp-sink-delegation.log' });
  const port = await freePort();
  server = await startServer({
    port,
    logName: 'server-delegation.log',
    env: {
      SPORTELLO_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      SPORTELLO_MAIL__SMTP_URL: `smtp://127.0.0.1:${mailbox.port}`,
      SPORTELLO_OUTBOX__POLL_INTERVAL_MS: '100',
    },
  });
  baseUrl = server.baseUrl;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mailbox?.stop();
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

/** Sign in and check we landed on "I miei servizi" (not on a forced change). */
async function signIn(page, fiscal, password) {
  const res = await submitLogin(page, fiscal, password);
  assert.equal(res.status(), 200, `login of ${fiscal}`);
  assert.equal(page.url(), `${baseUrl}/`, `login of ${fiscal} lands on /`);
  assert.equal(await textOf(page, 'h1'), 'I miei servizi');
}

/** Click a link of the header's navigation by its text; resolves once its page is loaded. */
async function followHeaderLink(page, name, href) {
  const link = page.locator('header').getByRole('link', { name, exact: true });
  assert.equal(await link.count(), 1, `one "${name}" link in the header`);
  assert.equal(await link.getAttribute('href'), href);
  await Promise.all([page.waitForURL(`${baseUrl}${href}`), link.click()]);
}

/** The activation link of a message, checked to point at this server. */
function activationLink(message) {
  const m = message.text.match(new RegExp(`${escapeRegExp(baseUrl)}/attivazione\\?token=(\\S+)`));
  assert.ok(m, `no ${baseUrl}/attivazione?token=... link in "${message.subject}":\n${message.text}`);
  assert.match(m[1], /^[0-9a-f]{64}$/, 'token fully decoded (64 hex digits)');
  return m[0];
}

/** Open an activation link, choose a password, sign in with it. */
async function activate(page, link, fiscal, password, name) {
  assert.equal((await page.goto(link)).status(), 200, `activation link ${link} accepted`);
  assert.equal(pathOf(page), '/attivazione');
  await shot(page, `${name}-activation`);
  await page.fill('#new_password', password);
  await page.fill('#confirm_password', password);
  await submit(page, 'main form button[type=submit]');
  assert.equal(page.url(), `${baseUrl}/accedi?password=attivata`);
  assert.match(await textOf(page, '#login-notice'), /Utenza attivata/);
  await signIn(page, fiscal, password);
}

/** Fill /nomina-amministratore (the page must be open) except the letter. */
async function fillAppointment(page, r) {
  await page.selectOption('#organization_id', { label: REGION });
  await page.fill('#requester_name', r.requesterName);
  await page.fill('#requester_role', r.requesterRole);
  await page.fill('#requester_email', r.requesterEmail);
  await page.fill('#candidate_fiscal_code', r.fiscal);
  await page.fill('#candidate_given_name', r.given);
  await page.fill('#candidate_family_name', r.family);
  await page.fill('#candidate_email', r.email);
}

const appointmentSubmit = 'form[action="/nomina-amministratore"] button[type=submit]';

/** The rows of #enablements (application, profile), or [] without the table. */
async function enablementRows(page) {
  if (await page.locator('#enablements').count() === 0) return [];
  return page.locator('#enablements tbody tr').evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent.trim())));
}

/** The options of #profile_id as { label: value }. */
async function profileOptions(page) {
  const options = await page.locator('#profile_id option').evaluateAll((os) => os.map((o) => [o.textContent.trim(), o.value]));
  return Object.fromEntries(options);
}

test('appointment of a local administrator, who manages an employee of his own', { timeout: 120_000 }, async (t) => {
  const request = {
    requesterName: 'Carla Moretti',
    requesterRole: 'Responsabile del Servizio affari generali',
    requesterEmail: 'carla.moretti@regione.prove.sportello.localhost',
    fiscal: fiscalCode('RSSGNN72B10A944'),
    given: 'Giovanni',
    family: 'Rossi',
    email: 'giovanni.rossi@regione.prove.sportello.localhost',
  };
  const adminPassword = 'Via-Aldo-Moro-52!';
  const employee = {
    fiscal: fiscalCode('BNDLCU84E48A944'),
    given: 'Lucia',
    family: 'Bondi',
    email: 'lucia.bondi@regione.prove.sportello.localhost',
  };
  const employeePassword = 'Torri-Garisenda-7#';

  // 1. The head of office files the request, no login needed.
  const head = await newPage(t);
  assert.equal((await head.goto(`${baseUrl}/nomina-amministratore`)).status(), 200);
  assert.equal(await head.locator('#current-user').count(), 0, 'anonymous');
  await fillAppointment(head, request);
  await head.setInputFiles('#letter', letterPath);
  await shot(head, '01-request-form');
  let seen = await mailbox.mark();
  const sent = await submit(head, appointmentSubmit);
  await shot(head, '02-request-sent');
  assert.equal(sent.status(), 200);
  assert.equal(pathOf(head), '/nomina-amministratore');
  const requestId = new URL(head.url()).searchParams.get('richiesta');
  assert.match(requestId ?? '', /^\d+$/, `request number in ${head.url()}`);
  assert.ok(await head.locator('#appointment-sent').isVisible(), '#appointment-sent shown');
  assert.match(await textOf(head, '#appointment-sent'), new RegExp(`Richiesta ricevuta.*\\b${requestId}\\.$`));
  assert.equal(await head.locator('#letter').count(), 0, 'no form after sending');

  const receipt = await mailbox.waitFor({ to: request.requesterEmail, subject: subjectRequest(requestId), after: seen });
  assert.match(receipt.text, /Gentile Carla Moretti/);
  assert.match(receipt.text, new RegExp(`richiesta n\\. ${requestId} di nomina di Giovanni Rossi ad amministratore locale delle utenze per ${REGION}`));

  // 2. The central administrator approves it.
  const central = await newPage(t);
  await signIn(central, GIULIA, DEMO_PASSWORD);
  await followHeaderLink(central, 'Nomine', '/admin/nomine');
  const row = central.locator('#appointments tbody tr').filter({ hasText: request.fiscal });
  assert.equal(await row.count(), 1, 'the request is listed once in #appointments');
  const cells = await row.locator('td').allInnerTexts();
  assert.equal(cells[0].trim(), requestId);
  assert.equal(cells[1].trim(), REGION);
  assert.match(cells[2], /Giovanni Rossi/);
  assert.match(cells[3], /Carla Moretti/);
  assert.match(cells[4], /lettera-nomina\.pdf/);
  assert.match(cells[5].trim(), /^(pending|in attesa)/, 'status: pending'); // shown as the raw code today
  await shot(central, '03-appointments');
  const approve = row.locator(`#approve-${requestId}`);
  assert.equal(await approve.count(), 1, `#approve-${requestId} in the row`);
  seen = await mailbox.mark();
  await Promise.all([central.waitForURL(`${baseUrl}/admin/nomine?esito=approvata`), approve.click()]);
  await shot(central, '04-approved');
  assert.match(await textOf(central, '#notice'), /Nomina approvata/);
  const decided = central.locator('#appointments tbody tr').filter({ hasText: request.fiscal });
  assert.match(await decided.locator('td').nth(5).innerText(), /^(approved|approvata|accolta)/);
  assert.equal(await central.locator(`#approve-${requestId}`).count(), 0, 'no "Approva" once decided');
  const admins = central.locator('#local-admins tbody tr').filter({ hasText: request.fiscal });
  assert.equal(await admins.count(), 1, 'the candidate is among the local administrators');
  assert.match(await admins.innerText(), new RegExp(REGION));

  const welcome = await mailbox.waitFor({ to: request.email, subject: SUBJECT_APPOINTED, after: seen });
  assert.match(welcome.text, /Gentile Giovanni Rossi/);
  assert.match(welcome.text, /sei stato nominato amministratore locale delle utenze per Regione Emilia-Romagna/);
  const adminLink = activationLink(welcome);
  const outcome = await mailbox.waitFor({ to: request.requesterEmail, subject: `${subjectRequest(requestId)}: accolta`, after: seen });
  assert.match(outcome.text, /Giovanni Rossi è amministratore locale delle utenze/);

  // 3. The new local administrator activates his account and creates an employee.
  const admin = await newPage(t);
  await activate(admin, adminLink, request.fiscal, adminPassword, '05-admin');
  assert.match(await textOf(admin, '#current-user'), /Giovanni Rossi/);
  assert.match(await textOf(admin, '#current-org'), new RegExp(REGION));
  await shot(admin, '06-admin-home');
  await followHeaderLink(admin, 'Utenti', '/admin/utenti');
  await Promise.all([admin.waitForURL(`${baseUrl}/admin/utenti/nuovo`), admin.getByRole('link', { name: 'Nuovo utente', exact: true }).click()]);
  assert.ok(await admin.isChecked('#fa_link'), 'activation link is the default first access');
  const orgs = await admin.locator('#organization_id option').allInnerTexts();
  assert.deepEqual(orgs.map((o) => o.trim()), [REGION], 'the local administrator creates users of his organization only');
  await admin.fill('#fiscal_code', employee.fiscal);
  await admin.fill('#given_name', employee.given);
  await admin.fill('#family_name', employee.family);
  await admin.fill('#email', employee.email);
  await admin.selectOption('#category', { label: 'Dipendente pubblico' });
  await admin.selectOption('#organization_id', { label: REGION });
  await shot(admin, '07-new-user');
  seen = await mailbox.mark();
  const created = await submit(admin, 'form[action="/admin/utenti/nuovo"] button[type=submit]');
  assert.equal(created.status(), 200);
  assert.equal(admin.url(), `${baseUrl}/admin/utenti?esito=creato`);
  assert.match(await textOf(admin, '#notice'), /Utente creato/);
  await shot(admin, '08-user-created');

  // 4. From the list to the employee's page; enable him to PTT as tax authority.
  const nameLink = admin.locator('#users tbody tr').filter({ hasText: employee.fiscal }).getByRole('link', { name: 'Lucia Bondi', exact: true });
  assert.equal(await nameLink.count(), 1, 'the new employee is listed, his name a link');
  const href = await nameLink.getAttribute('href');
  assert.match(href, /^\/admin\/utenti\/\d+$/);
  await Promise.all([admin.waitForURL(`${baseUrl}${href}`), nameLink.click()]);
  const employeePage = `${baseUrl}${href}`;
  assert.equal(await textOf(admin, 'h1'), 'Lucia Bondi');
  assert.match(await textOf(admin, '#user-status'), /in attesa di attivazione/);
  assert.ok(await admin.locator('#no-enablements').isVisible(), 'no enablements yet');
  const options = await profileOptions(admin);
  assert.ok(options[PTT], `"${PTT}" offered: ${Object.keys(options).join(' | ')}`);
  assert.ok(options[PTT_READ_ONLY], `"${PTT_READ_ONLY}" offered`);
  const readOnlyId = options[PTT_READ_ONLY]; // for step 6
  await admin.selectOption('#profile_id', { label: PTT });
  await shot(admin, '09-enable');
  await Promise.all([admin.waitForURL(`${employeePage}?esito=abilitato`), admin.click('#enable-form button[type=submit]')]);
  await shot(admin, '10-enabled');
  assert.match(await textOf(admin, '#notice'), /Abilitazione registrata/);
  assert.deepEqual(await enablementRows(admin), [['Processo Tributario Telematico', 'Ente impositore']]);
  const left = Object.keys(await profileOptions(admin));
  assert.ok(!left.some((o) => o.startsWith('Processo Tributario Telematico')), `PTT no longer offered: ${left.join(' | ')}`);

  // 5. The employee's e-mails; he activates his account and finds PTT and Telecontenzioso.
  const firstAccess = await mailbox.waitFor({ to: employee.email, subject: SUBJECT_FIRST_ACCESS, after: seen });
  assert.match(firstAccess.text, /Gentile Lucia Bondi/);
  const employeeLink = activationLink(firstAccess);
  const enabledMail = await mailbox.waitFor({ to: employee.email, subject: SUBJECT_ENABLED, after: seen });
  assert.match(enabledMail.text, /sei stato abilitato al servizio Processo Tributario Telematico - Ente impositore/);
  // The enablement e-mail points to the first-access link already sent instead of voiding it.
  assert.doesNotMatch(enabledMail.text, /attivazione\?token=/);

  const user = await newPage(t);
  await activate(user, employeeLink, employee.fiscal, employeePassword, '11-employee');
  assert.match(await textOf(user, '#current-org'), new RegExp(REGION));
  await shot(user, '12-employee-services');
  const ptt = user.locator('[data-application="PTT"]');
  const telecontenzioso = user.locator('[data-application="TELECONTENZIOSO"]');
  assert.equal(await ptt.count(), 1, 'one PTT card');
  assert.equal(await telecontenzioso.count(), 1, 'one Telecontenzioso card');
  assert.match(await ptt.innerText(), /Profilo: Ente impositore/);
  assert.match(await telecontenzioso.innerText(), /Incluso nell'abilitazione a Processo Tributario Telematico/);
  assert.equal(await user.locator('[data-application]').count(), 2, 'no other service');

  // 6. A second PTT profile, posted by editing the form, is refused.
  await admin.goto(employeePage);
  await admin.evaluate((id) => {
    const select = document.querySelector('#profile_id');
    select.add(new Option('Processo Tributario Telematico - sola consultazione (aggiunta)', id));
    select.value = id;
  }, readOnlyId);
  const refused = await submit(admin, '#enable-form button[type=submit]');
  await shot(admin, '13-second-profile-refused');
  assert.equal(refused.status(), 400);
  assert.match(await textOf(admin, '#form-errors'), /un solo profilo per applicazione/);
  assert.equal(await admin.getAttribute('#profile_id', 'aria-invalid'), 'true');
  assert.deepEqual(await enablementRows(admin), [['Processo Tributario Telematico', 'Ente impositore']], 'still one PTT enablement');

  // 7. The local administrator disables the account: the employee is out.
  await admin.goto(employeePage);
  await Promise.all([admin.waitForURL(`${employeePage}?esito=disabilitato`), admin.click('#disable')]);
  await shot(admin, '14-disabled');
  assert.match(await textOf(admin, '#notice'), /Utenza disabilitata/);
  assert.equal(await textOf(admin, '#user-status'), 'disabilitata');
  assert.equal(await admin.locator('#disable').count(), 0);
  assert.equal(await admin.locator('#reenable').count(), 1, '"Riabilita" offered');

  assert.equal((await user.goto(`${baseUrl}/`)).status(), 200);
  await shot(user, '15-employee-logged-out');
  assert.equal(await textOf(user, 'h1'), 'Benvenuto su Sportello');
  assert.equal(await user.locator('#current-user').count(), 0, 'session ended');
  assert.equal(await user.locator('#login-link').count(), 1, 'login link shown');
  const again = await submitLogin(user, employee.fiscal, employeePassword);
  await shot(user, '16-employee-login-refused');
  assert.equal(again.status(), 403);
  assert.equal(pathOf(user), '/accedi');
  assert.match(await textOf(user, '#form-errors'), /L'utenza non è attiva/);
  assert.equal(await user.locator('#current-user').count(), 0, 'not signed in');
});

test('accessibility of the delegation pages (axe-core)', { timeout: 120_000 }, async (t) => {
  // The site's CSP (script-src 'self') would block the injected inline script.
  const axeOptions = { bypassCSP: true };
  const anonymous = await newPage(t, axeOptions);
  const central = await newPage(t, axeOptions);
  await signIn(central, GIULIA, DEMO_PASSWORD);
  const local = await newPage(t, axeOptions);
  await signIn(local, MARCO, DEMO_PASSWORD);
  const employee = await newPage(t, axeOptions);
  await signIn(employee, ANNA, DEMO_PASSWORD);

  // Anna's page in Marco's console, with an enablement that has alternative profiles.
  const list = await local.goto(`${baseUrl}/admin/utenti?q=verdi`);
  assert.equal(list.status(), 200);
  const href = await local.locator('#users tbody tr').filter({ hasText: ANNA }).getByRole('link').getAttribute('href');
  assert.match(href, /^\/admin\/utenti\/\d+$/);
  await local.goto(`${baseUrl}${href}`);
  const readOnlyId = (await profileOptions(local))[PTT_READ_ONLY];
  assert.ok(readOnlyId, `"${PTT_READ_ONLY}" offered to Anna`);
  await local.selectOption('#profile_id', { label: PTT });
  await Promise.all([local.waitForURL(`${baseUrl}${href}?esito=abilitato`), local.click('#enable-form button[type=submit]')]);

  const expectPath = (page, want) => assert.equal(pathOf(page), want, `axe page opened at ${want}`);
  const pages = [
    { name: 'appointment-form', path: '/nomina-amministratore', page: anonymous },
    { name: 'appointment-form-errors', path: '/nomina-amministratore (submitted without the letter)', page: anonymous,
      open: async () => {
        await anonymous.goto(`${baseUrl}/nomina-amministratore`);
        await fillAppointment(anonymous, {
          requesterName: 'Carla Moretti', requesterRole: 'Dirigente', requesterEmail: 'carla.moretti@regione.prove.sportello.localhost',
          fiscal: fiscalCode('MNTFNC80A01A944'), given: 'Franco', family: 'Monti', email: 'franco.monti@regione.prove.sportello.localhost',
        });
        const res = await submit(anonymous, appointmentSubmit);
        assert.equal(res.status(), 400);
        assert.match(await textOf(anonymous, '#form-errors'), /allega la lettera di nomina firmata/);
        assert.match(await textOf(anonymous, '#letter_error'), /allega la lettera/);
        assert.equal(await anonymous.inputValue('#candidate_given_name'), 'Franco', 'values kept');
      } },
    { name: 'appointments', path: '/admin/nomine', page: central },
    { name: 'user-detail', path: href, page: local,
      open: async () => {
        assert.equal((await local.goto(`${baseUrl}${href}`)).status(), 200);
        assert.equal(await local.locator('#enablements tbody tr').count(), 2, 'Telecontenzioso and PTT listed');
      } },
    { name: 'user-detail-errors', path: `${href} (second profile refused)`, page: local,
      open: async () => {
        await local.goto(`${baseUrl}${href}`);
        await local.evaluate((id) => {
          const select = document.querySelector('#profile_id');
          select.add(new Option('aggiunta', id));
          select.value = id;
        }, readOnlyId);
        const res = await submit(local, '#enable-form button[type=submit]');
        assert.equal(res.status(), 400);
        assert.match(await textOf(local, '#form-errors'), /un solo profilo per applicazione/);
      } },
    { name: 'subdelegations', path: '/subdeleghe', page: employee,
      open: async () => {
        assert.equal((await employee.goto(`${baseUrl}/subdeleghe`)).status(), 200);
        assert.equal(await employee.locator('#offer').count(), 1, 'sub-delegation form shown');
      } },
    { name: 'audit', path: '/admin/audit', page: local },
    { name: 'import', path: '/admin/utenti/importa', page: local },
  ];
  const results = [];
  for (const p of pages) {
    if (p.open) await p.open();
    else {
      assert.equal((await p.page.goto(`${baseUrl}${p.path}`)).status(), 200, `GET ${p.path}`);
      expectPath(p.page, p.path);
    }
    const record = axeRecord(p.name, p.path, await runAxe(p.page));
    await shot(p.page, `axe-${p.name}`);
    appendJson(AXE_FILE, [record]); // page by page, so a failure keeps what was measured
    results.push(record);
  }
  await assertAxeClean(t, local, results);
});

// Regressions of bugs this suite once found.

test('the first-access link still works after an enablement e-mail', {
  timeout: 60_000,
}, async (t) => {
  const user = { fiscal: fiscalCode('PLLMRT86M51D548'), given: 'Marta', family: 'Pelli', email: 'marta.pelli@prove.sportello.localhost' };
  const admin = await newPage(t);
  await signIn(admin, MARCO, DEMO_PASSWORD);
  await admin.goto(`${baseUrl}/admin/utenti/nuovo`);
  await admin.fill('#fiscal_code', user.fiscal);
  await admin.fill('#given_name', user.given);
  await admin.fill('#family_name', user.family);
  await admin.fill('#email', user.email);
  await admin.selectOption('#organization_id', { label: 'Comune di Ferrara' });
  const seen = await mailbox.mark();
  await submit(admin, 'form[action="/admin/utenti/nuovo"] button[type=submit]');
  assert.equal(admin.url(), `${baseUrl}/admin/utenti?esito=creato`);
  const firstLink = activationLink(await mailbox.waitFor({ to: user.email, subject: SUBJECT_FIRST_ACCESS, after: seen }));

  await admin.goto(`${baseUrl}/admin/utenti?q=pelli`);
  const href = await admin.locator('#users tbody tr').filter({ hasText: user.fiscal }).getByRole('link').getAttribute('href');
  await admin.goto(`${baseUrl}${href}`);
  await admin.selectOption('#profile_id', { label: PTT });
  await Promise.all([admin.waitForURL(`${baseUrl}${href}?esito=abilitato`), admin.click('#enable-form button[type=submit]')]);
  await mailbox.waitFor({ to: user.email, subject: SUBJECT_ENABLED, after: seen });

  const page = await newPage(t);
  const res = await page.goto(firstLink);
  await shot(page, 'known-first-access-link');
  assert.equal(res.status(), 200, 'the link of "Sportello: la tua utenza" is still valid');
  assert.equal(await page.locator('#new_password').count(), 1, 'password form shown');
});

test('the fieldset legends of /nomina-amministratore do not cover the first label', {
  timeout: 30_000,
}, async (t) => {
  const page = await newPage(t);
  await page.goto(`${baseUrl}/nomina-amministratore`);
  const overlaps = await page.evaluate(() => [...document.querySelectorAll('main fieldset')].map((f) => {
    const legend = f.querySelector('legend').getBoundingClientRect();
    const label = f.querySelector('label').getBoundingClientRect();
    return { legend: f.querySelector('legend').textContent.trim(), overlapPx: Math.round(legend.bottom - label.top) };
  }));
  await shot(page, 'known-legend-overlap');
  assert.equal(overlaps.length, 2, 'two fieldsets');
  // A pixel of slack: line boxes touch without the glyphs overlapping.
  for (const o of overlaps) assert.ok(o.overlapPx <= 1, `legend "${o.legend}" covers the first label by ${o.overlapPx} px`);
});
