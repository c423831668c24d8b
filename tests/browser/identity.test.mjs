// End-to-end browser tests for Sportello's identity pages: first access (activation
// link or temporary password), forced and voluntary password change, reset by e-mail,
// login throttling and lockout with unlock by an administrator, and their accessibility.
//
// Starts a real SMTP sink (tests/support/smtp_sink.py) and `sportello serve --demo`
// sending mail to it, then drives Debian's headless Chromium through playwright-core.
// Screenshots go to <repo>/artifacts/browser/identity-*.png, the server log to
// server-identity.log, axe-core results to axe-identity.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  DEMO_PASSWORD, appendJson, artifacts, assertAxeClean, axeRecord, fiscalCode, freePort,
  launchBrowser, newPage as openPage, runAxe, screenshot, sleep, startServer, startSmtpSink,
  submit, submitLogin as login,
} from './support.mjs';

const GIULIA = 'BNCGLI75C45H501W'; // central administrator
const MARCO = 'FRRMRC70A01D548N'; // local administrator, Comune di Ferrara
const ANNA = { fiscalCode: 'VRDNNA82D50D548K', email: 'anna.verdi@demo.sportello.localhost' };
const GIORGIO = 'FNTGRG66H12D548N'; // password expired
const LAURA = { fiscalCode: 'CLMLRA90A41A944J', email: 'laura.colombo@demo.sportello.localhost' };
const FERRARA = 'Comune di Ferrara';
const WRONG_PASSWORD = 'Password-Sbagliata-99';
const AXE_FILE = 'axe-identity.json';

const SUBJECT_FIRST_ACCESS = 'Sportello: la tua utenza';
const SUBJECT_RESET = 'Sportello: reimpostazione della password';
const SUBJECT_LOCKOUT = 'Sportello: accesso sospeso per troppi tentativi';

let server; // { baseUrl, stop() }
let baseUrl;
let mailbox;
let browser;

const newPage = (t, options) => openPage(browser, t, options);
const submitLogin = (page, fiscal, password) => login(page, baseUrl, fiscal, password);
const shot = (page, name) => screenshot(page, `identity-${name}`);
const pathOf = (page) => new URL(page.url()).pathname;
const textOf = async (page, selector) => (await page.locator(selector).innerText()).trim();
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  fs.rmSync(path.join(artifacts, AXE_FILE), { force: true }); // this run's results only
  mailbox = await startSmtpSink({ logName: 'smtp-sink-identity.log' });
  const port = await freePort();
  server = await startServer({
    port,
    logName: 'server-identity.log',
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
});

/** Sign in and check we landed on "I miei servizi" (not on a forced change). */
async function signIn(page, fiscal, password) {
  const res = await submitLogin(page, fiscal, password);
  assert.equal(res.status(), 200, `login of ${fiscal}`);
  assert.equal(page.url(), `${baseUrl}/`, `login of ${fiscal} lands on /`);
  assert.equal(await textOf(page, 'h1'), 'I miei servizi');
}

/** Fill and submit /admin/utenti/nuovo as the signed-in administrator; resolves with the response. */
async function createUser(page, { fiscal, given, family, email, organization = FERRARA, firstAccess }) {
  await page.goto(`${baseUrl}/admin/utenti/nuovo`);
  await page.fill('#fiscal_code', fiscal);
  await page.fill('#given_name', given);
  await page.fill('#family_name', family);
  await page.fill('#email', email);
  await page.selectOption('#organization_id', { label: organization });
  if (firstAccess) {
    // Bootstrap Italia draws the radio on its label, which is what a user clicks.
    const radio = { link: '#fa_link', temp: '#fa_temp' }[firstAccess];
    await page.click(`label[for=${radio.slice(1)}]`);
    assert.ok(await page.isChecked(radio), `${radio} checked`);
  }
  return submit(page, 'form[action="/admin/utenti/nuovo"] button[type=submit]');
}

/** Create a user and check the redirect to the list with the "created" notice. */
async function createUserOk(page, user) {
  const res = await createUser(page, user);
  assert.equal(res.status(), 200, `creating ${user.fiscal}`);
  assert.equal(page.url(), `${baseUrl}/admin/utenti?esito=creato`);
  assert.match(await textOf(page, '#notice'), /Utente creato/);
}

/** The activation or reset link of a message, checked to point at this server. */
function linkIn(message, linkPath) {
  const m = message.text.match(new RegExp(`${escapeRegExp(baseUrl + linkPath)}\\?token=(\\S+)`));
  assert.ok(m, `no ${baseUrl}${linkPath}?token=... link in "${message.subject}":\n${message.text}`);
  assert.match(m[1], /^[0-9a-f]{64}$/, 'token fully decoded (64 hex digits)');
  return m[0];
}

/** Fill the new-password pair of /attivazione, /reset-password/nuova or /cambio-password and submit. */
async function setNewPassword(page, password, { current } = {}) {
  if (current !== undefined) await page.fill('#current_password', current);
  await page.fill('#new_password', password);
  await page.fill('#confirm_password', password);
  return submit(page, 'main form button[type=submit]');
}

/** One more login attempt from the login page the browser is on (no reload: throttling is timed). */
async function retryLogin(page, password) {
  assert.equal(pathOf(page), '/accedi');
  await page.fill('#password', password);
  return submit(page, 'form[action="/accedi"] button[type=submit]');
}

/** "Troppi tentativi: riprova tra N s" on a 429 answer; resolves with N. */
async function throttledSeconds(page, res) {
  assert.equal(res.status(), 429, 'attempt refused as too soon');
  const m = (await textOf(page, '#form-errors')).match(/Troppi tentativi: riprova tra (\d+) s/);
  assert.ok(m, 'throttle message in #form-errors');
  return Number(m[1]);
}

/**
 * Five wrong passwords with the waits the throttle imposes, which locks the account;
 * then the right password is refused with "Accesso sospeso".
 */
async function lockOut(page, fiscal, rightPassword, name) {
  for (let i = 1; i <= 3; i++) {
    const res = i === 1 ? await submitLogin(page, fiscal, WRONG_PASSWORD) : await retryLogin(page, WRONG_PASSWORD);
    assert.equal(res.status(), 401, `wrong password #${i} refused as such`);
  }
  // Three failures in a row: the next attempt within 1 s is refused without being checked.
  const first = await throttledSeconds(page, await retryLogin(page, WRONG_PASSWORD));
  await shot(page, `${name}-throttled`);
  assert.equal(first, 1, 'first wait is 1 s');
  await sleep(first * 1000 + 300);
  assert.equal((await retryLogin(page, WRONG_PASSWORD)).status(), 401, 'wrong password #4 checked after waiting');

  const second = await throttledSeconds(page, await retryLogin(page, WRONG_PASSWORD));
  assert.ok(second >= 1 && second <= 2, `second wait is at most 2 s, got ${second}`);
  await sleep(second * 1000 + 300);
  assert.equal((await retryLogin(page, WRONG_PASSWORD)).status(), 401, 'wrong password #5 refused');

  // Locked now: even the right password is refused.
  const locked = await retryLogin(page, rightPassword);
  await shot(page, `${name}-locked`);
  assert.equal(locked.status(), 403, 'locked account refused');
  assert.equal(pathOf(page), '/accedi');
  assert.match(await textOf(page, '#form-errors'), /Accesso sospeso/);
  assert.equal(await page.locator('#current-user').count(), 0, 'not signed in while locked');
}

/** The row of the user list for a codice fiscale, after a search as the signed-in administrator. */
async function findUserRow(page, query, fiscal) {
  const res = await page.goto(`${baseUrl}/admin/utenti?q=${encodeURIComponent(query)}`);
  assert.equal(res.status(), 200);
  return page.locator('#users tbody tr').filter({ hasText: fiscal });
}

/** Unlock a user from the list (row badge "bloccato", button "Sblocca"), then check the row is clear. */
async function unlockFromList(page, query, fiscal, name) {
  const row = await findUserRow(page, query, fiscal);
  await shot(page, `${name}-users-locked`);
  assert.equal(await row.count(), 1, `${fiscal} listed by /admin/utenti?q=${query}`);
  assert.equal((await row.locator('.badge').innerText()).trim(), 'bloccato');
  const button = row.getByRole('button', { name: /Sblocca/ });
  assert.equal(await button.count(), 1, 'one "Sblocca" button in the row');
  await Promise.all([page.waitForURL(`${baseUrl}/admin/utenti?esito=sbloccato`), button.click()]);
  assert.match(await textOf(page, '#notice'), /Utente sbloccato/);

  const cleared = await findUserRow(page, query, fiscal);
  assert.equal(await cleared.count(), 1);
  assert.equal(await cleared.locator('.badge').count(), 0, 'no "bloccato" badge after unlocking');
  assert.equal(await cleared.getByRole('button', { name: /Sblocca/ }).count(), 0, 'no "Sblocca" button after unlocking');
}

test('first access with an activation link', { timeout: 60_000 }, async (t) => {
  const user = {
    fiscal: fiscalCode('BNCLRA85T50D548'),
    given: 'Lara',
    family: 'Bianco',
    email: 'lara.bianco@prove.sportello.localhost',
  };
  const password = 'Nebbia-Padana-731';

  // The central administrator creates the user; the activation link is the default.
  const admin = await newPage(t);
  await signIn(admin, GIULIA, DEMO_PASSWORD);
  await admin.goto(`${baseUrl}/admin/utenti/nuovo`);
  assert.ok(await admin.isChecked('#fa_link'), 'activation link is the default first access');
  const seen = await mailbox.mark();
  await createUserOk(admin, user);
  await shot(admin, 'activation-created');

  const mail = await mailbox.waitFor({ to: user.email, subject: SUBJECT_FIRST_ACCESS, after: seen });
  t.diagnostic(`activation e-mail: Content-Transfer-Encoding ${mail.encoding || '(none)'}`);
  assert.match(mail.text, /Gentile Lara Bianco/);
  const link = linkIn(mail, '/attivazione');

  // The new user opens the link in a browser of his own.
  const page = await newPage(t);
  assert.equal((await page.goto(link)).status(), 200);
  await shot(page, 'activation-form');

  const refused = await setNewPassword(page, 'Bianco-Estate-2026!');
  await shot(page, 'activation-refused');
  assert.equal(refused.status(), 400);
  assert.equal(pathOf(page), '/attivazione');
  assert.match(await textOf(page, '#form-errors'), /non può contenere il codice fiscale, il nome o il cognome/);
  assert.equal(await page.getAttribute('#new_password', 'aria-invalid'), 'true');

  await setNewPassword(page, password);
  assert.equal(page.url(), `${baseUrl}/accedi?password=attivata`);
  assert.match(await textOf(page, '#login-notice'), /Utenza attivata/);
  await shot(page, 'activation-done');

  await signIn(page, user.fiscal, password);
  assert.match(await textOf(page, '#current-user'), /Lara Bianco/);
  assert.match(await textOf(page, '#current-org'), new RegExp(FERRARA));
  await shot(page, 'activation-home');

  // The link worked once.
  const again = await newPage(t);
  const res = await again.goto(link);
  await shot(again, 'activation-used');
  assert.equal(res.status(), 410);
  assert.ok(await again.locator('#token-invalid').isVisible(), '#token-invalid shown');
  assert.equal(await again.locator('#new_password').count(), 0, 'no password form on a used link');
});

test('first access with a temporary password', { timeout: 60_000 }, async (t) => {
  const user = {
    fiscal: fiscalCode('VRDLCU90A01D548'),
    given: 'Luca',
    family: 'Verde',
    email: 'luca.verde@prove.sportello.localhost',
    firstAccess: 'temp',
  };

  // The local administrator of the Comune di Ferrara creates the user.
  const admin = await newPage(t);
  await signIn(admin, MARCO, DEMO_PASSWORD);
  const seen = await mailbox.mark();
  await createUserOk(admin, user);

  const mail = await mailbox.waitFor({ to: user.email, subject: SUBJECT_FIRST_ACCESS, after: seen });
  t.diagnostic(`temporary-password e-mail: Content-Transfer-Encoding ${mail.encoding || '(none)'}`);
  const m = mail.text.match(/La tua password provvisoria è: (\S+)/);
  assert.ok(m, `temporary password in the e-mail (accents decoded):\n${mail.text}`);
  const temporary = m[1];
  assert.doesNotMatch(mail.text, /\/attivazione\?token=/, 'no activation link with a temporary password');

  // First login: the change is forced, whatever page is asked for.
  const page = await newPage(t);
  await submitLogin(page, user.fiscal, temporary);
  assert.equal(pathOf(page), '/cambio-password');
  assert.ok(await page.locator('#forced-change').isVisible(), '#forced-change shown');
  await shot(page, 'temporary-forced');
  for (const p of ['/', '/profilo']) {
    await page.goto(`${baseUrl}${p}`);
    assert.equal(pathOf(page), '/cambio-password', `${p} redirects to the forced change`);
    assert.ok(await page.locator('#forced-change').isVisible());
  }

  await setNewPassword(page, 'Castello-Estense-58!', { current: temporary });
  assert.equal(page.url(), `${baseUrl}/cambio-password?fatto=1`);
  assert.ok(await page.locator('#password-changed').isVisible(), '#password-changed shown');
  assert.equal(await page.locator('#forced-change').count(), 0, 'change no longer forced');
  await shot(page, 'temporary-changed');

  await page.goto(`${baseUrl}/`);
  assert.equal(pathOf(page), '/');
  assert.equal(await textOf(page, 'h1'), 'I miei servizi');
  assert.match(await textOf(page, '#current-org'), new RegExp(FERRARA));
});

test('expired password must be changed', { timeout: 60_000 }, async (t) => {
  const page = await newPage(t);
  await submitLogin(page, GIORGIO, DEMO_PASSWORD);
  assert.equal(pathOf(page), '/cambio-password');
  assert.ok(await page.locator('#forced-change').isVisible(), '#forced-change shown');
  await shot(page, 'expired-forced');

  // The same password again is refused: it is in the history.
  const refused = await setNewPassword(page, DEMO_PASSWORD, { current: DEMO_PASSWORD });
  await shot(page, 'expired-reuse-refused');
  assert.equal(refused.status(), 400);
  assert.equal(pathOf(page), '/cambio-password');
  assert.match(await textOf(page, '#form-errors'), /ultime/);
  assert.ok(await page.locator('#forced-change').isVisible(), 'still forced after the refusal');
  await page.goto(`${baseUrl}/`);
  assert.equal(pathOf(page), '/cambio-password', '/ still redirects to the change');

  await setNewPassword(page, 'Delta-Sereno-2027#', { current: DEMO_PASSWORD });
  assert.equal(page.url(), `${baseUrl}/cambio-password?fatto=1`);
  assert.ok(await page.locator('#password-changed').isVisible());

  await page.goto(`${baseUrl}/`);
  assert.equal(pathOf(page), '/');
  assert.equal(await textOf(page, 'h1'), 'I miei servizi');
});

test('password reset by e-mail', { timeout: 60_000 }, async (t) => {
  const password = 'Portici-Lunghi-19#';
  const page = await newPage(t);
  await page.goto(`${baseUrl}/accedi`);
  await Promise.all([page.waitForURL(`${baseUrl}/reset-password`), page.click('#forgot-link')]);
  await page.fill('#fiscal_code', ANNA.fiscalCode);
  await page.fill('#email', ANNA.email);
  const seen = await mailbox.mark();
  await submit(page, 'form[action="/reset-password"] button[type=submit]');
  assert.equal(page.url(), `${baseUrl}/reset-password?inviato=1`);
  assert.ok(await page.locator('#reset-sent').isVisible(), '#reset-sent shown');
  await shot(page, 'reset-sent');

  const mail = await mailbox.waitFor({ to: ANNA.email, subject: SUBJECT_RESET, after: seen });
  assert.match(mail.text, /Gentile Anna Verdi/);
  const link = linkIn(mail, '/reset-password/nuova');

  assert.equal((await page.goto(link)).status(), 200);
  await shot(page, 'reset-form');
  await setNewPassword(page, password);
  assert.equal(page.url(), `${baseUrl}/accedi?password=reimpostata`);
  assert.match(await textOf(page, '#login-notice'), /Password reimpostata/);

  await signIn(page, ANNA.fiscalCode, password);
  await shot(page, 'reset-home');

  const other = await newPage(t);
  const old = await submitLogin(other, ANNA.fiscalCode, DEMO_PASSWORD);
  assert.equal(old.status(), 401, 'old password refused');
  assert.equal(pathOf(other), '/accedi');
  assert.ok(await other.locator('#form-errors').isVisible());
  assert.equal(await other.locator('#current-user').count(), 0, 'not signed in with the old password');
});

test('lockout after failed logins, lifted by the central administrator', { timeout: 90_000 }, async (t) => {
  const page = await newPage(t);
  const seen = await mailbox.mark();
  await lockOut(page, LAURA.fiscalCode, DEMO_PASSWORD, 'lockout');

  const mail = await mailbox.waitFor({ to: LAURA.email, subject: SUBJECT_LOCKOUT, after: seen });
  assert.match(mail.text, /Gentile Laura Colombo/);
  assert.match(mail.text, /il tuo accesso a Sportello è sospeso per \d+ minuti/);

  const admin = await newPage(t);
  await signIn(admin, GIULIA, DEMO_PASSWORD);
  await unlockFromList(admin, 'colombo', LAURA.fiscalCode, 'lockout');

  await signIn(page, LAURA.fiscalCode, DEMO_PASSWORD);
  await shot(page, 'lockout-unlocked-home');
});

test('lockout of a municipal employee, lifted by the local administrator', { timeout: 90_000 }, async (t) => {
  const user = {
    fiscal: fiscalCode('RSSMRA80A01D548'),
    given: 'Mario',
    family: 'Rossetti',
    email: 'mario.rossetti@prove.sportello.localhost',
    firstAccess: 'temp',
  };
  const admin = await newPage(t);
  await signIn(admin, MARCO, DEMO_PASSWORD);
  const seen = await mailbox.mark();
  await createUserOk(admin, user);
  const temporary = (await mailbox.waitFor({ to: user.email, subject: SUBJECT_FIRST_ACCESS, after: seen }))
    .text.match(/La tua password provvisoria è: (\S+)/)[1];

  const page = await newPage(t);
  await lockOut(page, user.fiscal, temporary, 'lockout-local');
  await mailbox.waitFor({ to: user.email, subject: SUBJECT_LOCKOUT, after: seen });

  await unlockFromList(admin, 'rossetti', user.fiscal, 'lockout-local');

  // Unlocked: the temporary password works again (and must be changed).
  await submitLogin(page, user.fiscal, temporary);
  assert.equal(pathOf(page), '/cambio-password');
  assert.ok(await page.locator('#forced-change').isVisible());
});

test('accessibility of the identity pages (axe-core)', { timeout: 120_000 }, async (t) => {
  // The site's CSP (script-src 'self') would block the injected inline script.
  const axeOptions = { bypassCSP: true };
  const admin = await newPage(t, axeOptions);
  await signIn(admin, MARCO, DEMO_PASSWORD);

  // Users of its own: one with a temporary password (forced change), one with an activation link.
  const forcedUser = { fiscal: fiscalCode('GLLSFO92M50D548'), given: 'Sofia', family: 'Galli', email: 'sofia.galli@prove.sportello.localhost', firstAccess: 'temp' };
  const linkUser = { fiscal: fiscalCode('CSTPLA85C03D548'), given: 'Paolo', family: 'Costa', email: 'paolo.costa@prove.sportello.localhost', firstAccess: 'link' };
  const seen = await mailbox.mark();
  await createUserOk(admin, forcedUser);
  await createUserOk(admin, linkUser);
  const temporary = (await mailbox.waitFor({ to: forcedUser.email, subject: SUBJECT_FIRST_ACCESS, after: seen }))
    .text.match(/La tua password provvisoria è: (\S+)/)[1];
  const activation = linkIn(await mailbox.waitFor({ to: linkUser.email, subject: SUBJECT_FIRST_ACCESS, after: seen }), '/attivazione');

  const anonymous = await newPage(t, axeOptions);
  const forced = await newPage(t, axeOptions);
  await submitLogin(forced, forcedUser.fiscal, temporary);

  const expectPath = (page, want) => assert.equal(pathOf(page), want, `axe page opened at ${want}`);
  const pages = [
    { name: 'reset-request', path: '/reset-password', page: anonymous },
    { name: 'activation', path: '/attivazione?token=… (valid)', page: anonymous,
      open: async () => { assert.equal((await anonymous.goto(activation)).status(), 200); expectPath(anonymous, '/attivazione'); } },
    { name: 'password-change-forced', path: '/cambio-password (forced)', page: forced,
      open: async () => { await forced.goto(`${baseUrl}/cambio-password`); assert.ok(await forced.locator('#forced-change').isVisible()); } },
    { name: 'password-change', path: '/cambio-password', page: admin,
      open: async () => { await admin.goto(`${baseUrl}/cambio-password`); assert.equal(await admin.locator('#forced-change').count(), 0); } },
    { name: 'profile', path: '/profilo', page: admin,
      open: async () => { await admin.goto(`${baseUrl}/profilo`); assert.ok(await admin.locator('#profile-data').isVisible()); } },
    { name: 'users', path: '/admin/utenti', page: admin },
    { name: 'user-new', path: '/admin/utenti/nuovo', page: admin },
    { name: 'user-new-errors', path: '/admin/utenti/nuovo (submitted with errors)', page: admin,
      open: async () => {
        await admin.goto(`${baseUrl}/admin/utenti/nuovo`);
        await admin.fill('#fiscal_code', 'NONVALIDO');
        const res = await submit(admin, 'form[action="/admin/utenti/nuovo"] button[type=submit]');
        assert.equal(res.status(), 400);
        assert.ok(await admin.locator('#form-errors').isVisible(), '#form-errors shown');
      } },
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
  await assertAxeClean(t, admin, results);
});
