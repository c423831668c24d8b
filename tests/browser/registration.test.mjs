// End-to-end browser test of self-registration with PEC and digital signature: a
// professional registers from the login page, confirms his PEC from the link mailed to
// it, downloads the request, signs it (first with somebody else's certificate, which is
// refused with its reason, then with his own), activates his account from the mail and
// signs in; the central administrator sees the registration with both uploads.
//
// The certification authority and the signatures are made with the `openssl` command
// line (`openssl cms -sign`), independent of the portal. Screenshots go to
// <repo>/artifacts/browser/registration-*.png, axe-core results to axe-registration.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEMO_PASSWORD, appendJson, artifacts, assertAxeClean, axeRecord, fiscalCode, freePort,
  launchBrowser, newPage as openPage, runAxe, screenshot, startServer, startSmtpSink, submit,
  submitLogin,
} from './support.mjs';

const GIULIA = 'BNCGLI75C45H501W'; // central administrator
const APPLICANT = {
  fiscalCode: fiscalCode('CSTLNZ79B12D548'),
  given: 'Lorenzo',
  family: 'Costa',
  email: 'lorenzo.costa@studio.example.it',
  pec: 'lorenzo.costa@pec.example.it',
};
const OTHER = fiscalCode('GLLSFN80A01D548');
const PASSWORD = 'Firma-Digitale-2026!';
const AXE_FILE = 'axe-registration.json';
const AXE_OPTIONS = { bypassCSP: true }; // the CSP (script-src 'self') would block axe's inline script

let pki; // directory of the test authority
let server;
let baseUrl;
let mailbox;
let browser;

const shot = (page, name) => screenshot(page, `registration-${name}`);
const openssl = (args) => execFileSync('openssl', args, { cwd: pki, stdio: ['ignore', 'pipe', 'pipe'] });

/** A signing certificate from the test authority, with serialNumber=TINIT-<cf>. */
function signer(label, cf) {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${label}.key`, '-out', `${label}.csr`, '-subj', `/C=IT/serialNumber=TINIT-${cf}/CN=${label}`]);
  fs.writeFileSync(path.join(pki, 'signer.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,nonRepudiation\n');
  openssl(['x509', '-req', '-in', `${label}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '30', '-extfile', 'signer.ext', '-out', `${label}.pem`]);
  return label;
}

/** Signs `file` with openssl cms (CAdES, attached); returns the .p7m path. */
function sign(file, label) {
  const out = `${file}.${label}.p7m`;
  openssl(['cms', '-sign', '-binary', '-nodetach', '-cades', '-md', 'sha256', '-outform', 'DER',
    '-in', file, '-out', out, '-signer', `${label}.pem`, '-inkey', `${label}.key`]);
  return out;
}

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  fs.rmSync(path.join(artifacts, AXE_FILE), { force: true });
  pki = fs.mkdtempSync(path.join(os.tmpdir(), 'sportello-pki-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '365', '-subj', '/C=IT/O=Certificatore di prova/CN=Certificatore di prova CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  signer('applicant', APPLICANT.fiscalCode);
  signer('other', OTHER);
  mailbox = await startSmtpSink({ logName: 'smtp-sink-registration.log' });
  const port = await freePort();
  server = await startServer({
    port,
    logName: 'server-registration.log',
    env: {
      SPORTELLO_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      SPORTELLO_MAIL__SMTP_URL: `smtp://127.0.0.1:${mailbox.port}`,
      SPORTELLO_OUTBOX__POLL_INTERVAL_MS: '100',
      SPORTELLO_REGISTRATION__TRUSTED_CA_FILE: path.join(pki, 'ca.pem'),
    },
  });
  baseUrl = server.baseUrl;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await mailbox?.stop();
  if (pki) fs.rmSync(pki, { recursive: true, force: true });
});

/** The first link in `text` to `pathPrefix`, as a path on this server. */
function linkTo(text, pathPrefix) {
  const m = text.match(new RegExp(`https?://\\S+?(${pathPrefix.replace(/[?]/g, '\\?')}\\S*)`));
  assert.ok(m, `a link to ${pathPrefix} in:\n${text}`);
  return m[1];
}

test('a professional registers with PEC and digital signature', { timeout: 180_000 }, async (t) => {
  const records = [];
  const axe = async (page, name) => records.push(axeRecord(name, new URL(page.url()).pathname, await runAxe(page)));
  const page = await openPage(browser, t, AXE_OPTIONS);

  // From the login page to the form.
  await page.goto(`${baseUrl}/accedi`);
  await submit(page, '#register-link');
  assert.equal(new URL(page.url()).pathname, '/registrazione');
  await axe(page, 'form');

  // Bad input first: the errors name the fields and nothing is sent.
  await page.fill('#fiscal_code', 'CSTLNZ79B12D548X');
  await page.fill('#given_name', APPLICANT.given);
  let res = await submit(page, '#registration-submit');
  assert.equal(res.status(), 400);
  await page.locator('#form-errors').waitFor();
  for (const id of ['#fiscal_code_error', '#family_name_error', '#pec_error', '#category_error']) {
    assert.ok(await page.locator(id).isVisible(), `${id} shown`);
  }
  await axe(page, 'form with errors');
  await shot(page, 'form-errors');

  const before = await mailbox.mark();
  await page.fill('#fiscal_code', APPLICANT.fiscalCode);
  await page.fill('#given_name', APPLICANT.given);
  await page.fill('#family_name', APPLICANT.family);
  await page.fill('#email', APPLICANT.email);
  await page.fill('#pec', APPLICANT.pec);
  await page.click('label[for="category-professional"]'); // Bootstrap Italia styles the label, not the input
  res = await submit(page, '#registration-submit');
  assert.equal(res.status(), 200);
  const reference = (await page.locator('#registration-reference').innerText()).trim();
  assert.match(reference, /^REG-\d{4}-\d{7}$/);
  await shot(page, 'sent');

  // The PEC link: the address is confirmed and the request issued.
  const pecMail = await mailbox.waitFor({
    to: APPLICANT.pec, subject: `Sportello: conferma della registrazione ${reference}`, after: before,
  });
  const caseLink = linkTo(pecMail.text, '/registrazione/pratica?token=');
  await page.goto(`${baseUrl}${caseLink}`);
  assert.equal(await page.locator('#registration-state').getAttribute('data-state'), 'awaiting_signature');
  await axe(page, 'case awaiting signature');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#document-link')]);
  assert.equal(download.suggestedFilename(), `richiesta-${reference}.pdf`);
  const documentPath = path.join(pki, 'request.pdf');
  await download.saveAs(documentPath);
  const pdf = fs.readFileSync(documentPath);
  assert.ok(pdf.subarray(0, 5).equals(Buffer.from('%PDF-')));
  assert.ok(pdf.includes(APPLICANT.fiscalCode));

  // Signed by somebody else: refused, with the reason.
  await page.setInputFiles('#signed_file', sign(documentPath, 'other'));
  res = await submit(page, '#upload-submit');
  assert.equal(res.status(), 400);
  const why = await page.locator('#signed_file_error').innerText();
  assert.match(why, new RegExp(`altra persona.*${OTHER}`));
  assert.equal(await page.locator('#registration-state').getAttribute('data-state'), 'awaiting_signature');
  await axe(page, 'case with a refused signature');
  await shot(page, 'refused');

  // Signed by the applicant: accepted.
  await page.setInputFiles('#signed_file', sign(documentPath, 'applicant'));
  res = await submit(page, '#upload-submit');
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('#registration-state').getAttribute('data-state'), 'active');
  await page.locator('#registration-outcome').waitFor();
  await axe(page, 'case active');
  await shot(page, 'accepted');

  // The activation mail, the password, the first sign-in.
  const welcome = await mailbox.waitFor({
    to: APPLICANT.email, subject: `Sportello: registrazione ${reference} accolta`, after: before,
  });
  await page.goto(`${baseUrl}${linkTo(welcome.text, '/attivazione?token=')}`);
  await page.fill('#new_password', PASSWORD);
  await page.fill('#confirm_password', PASSWORD);
  await submit(page, 'form[action="/attivazione"] button[type=submit]');
  res = await submitLogin(page, baseUrl, APPLICANT.fiscalCode, PASSWORD);
  assert.equal(res.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.match(await page.locator('main').innerText(), /Processo Tributario Telematico/);

  // The central administrator sees the registration and both uploads.
  const admin = await openPage(browser, t, AXE_OPTIONS);
  res = await submitLogin(admin, baseUrl, GIULIA, DEMO_PASSWORD);
  assert.equal(res.status(), 200);
  assert.equal(await admin.locator('#registrations-link').getAttribute('href'), '/admin/registrazioni');
  await admin.goto(`${baseUrl}/admin/registrazioni`);
  await axe(admin, 'staff list');
  const row = admin.locator('#registrations tbody tr', { hasText: reference });
  assert.equal(await row.getAttribute('data-state'), 'active');
  await submit(admin, `#registrations a:has-text("${reference}")`);
  assert.equal(await admin.locator('#attempts tbody tr.refused').count(), 1);
  assert.equal(await admin.locator('#attempts tbody tr.accepted').count(), 1);
  assert.match(await admin.locator('#attempts tbody tr.refused').innerText(), /altra persona/);
  await axe(admin, 'staff detail');
  await shot(admin, 'staff-detail');

  appendJson(AXE_FILE, records);
  await assertAxeClean(t, admin, records);
});
