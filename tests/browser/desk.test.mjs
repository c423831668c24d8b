// End-to-end browser tests for Sportello's assistance desk: the CIVIS channel
// (closed at night, then a request from the form with the notice lookup, the
// office's work, documents answered by e-mail through `sportello mailgate`, the
// outcome and the office's report), the B.D.N.A. Service Desk reached by e-mail,
// and mail that goes to triage.
//
// Each test starts its own SMTP sink (tests/support/smtp_sink.py) and its own
// `sportello serve --demo` on a fresh data dir, with SPORTELLO_CLOCK_START fixing
// the hour, and drives Debian's headless Chromium through playwright-core.
// Screenshots go to <repo>/artifacts/browser/desk-*.png, the server logs to
// server-desk-*.log, axe-core results to axe-desk.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEMO_PASSWORD, appendJson, artifacts, assertAxeClean, axeRecord, freePort, launchBrowser,
  makeDataDir, newPage as openPage, removeDataDir, runAxe, runMailgate, screenshot,
  startServerOn, startSmtpSink, submitLogin,
} from './support.mjs';

const PAOLO = 'GLLPLA68S12A944U'; // intermediary, associated with ADE-DP-FE
const SARA = 'CNTSRA79H50D548Q'; // manager of ADE-DP-FE
const DAVIDE = 'RMNDVD88B15D548G'; // operator of ADE-DP-FE
const CHIARA = 'GRCCHR80T60D548W'; // operator of PREF-FE-BDNA
const MARCO = { fiscalCode: 'FRRMRC70A01D548N', email: 'marco.ferri@demo.sportello.localhost' };

const OFFICE_MAILBOX = 'dp.ferrara.civis@agenzia.example.it';
const BDNA_ADDRESS = 'assistenza.dippp@interno.example.it';
const PAOLO_CONTACT = 'studio.gallo@example.it'; // what Paolo types as his contact e-mail

// CIVIS is open every day 07:00-23:00 Europe/Rome; Rome is on UTC+1 in November.
const NIGHT = '2026-11-24T22:30:00Z'; // Tuesday 24/11/2026 23:30 in Rome
const MORNING = '2026-11-25T09:00:00Z'; // Wednesday 25/11/2026 10:00 in Rome
const YEAR = 2026;

const AXE_FILE = 'axe-desk.json';
const AXE_OPTIONS = { bypassCSP: true }; // the CSP (script-src 'self') would block axe's inline script

// The smallest document every PDF check accepts.
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n'
  + '2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n', 'latin1');

let browser;
let pdfDir;

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  fs.rmSync(path.join(artifacts, AXE_FILE), { force: true }); // this run's results only
  pdfDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sportello-desk-files-'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (pdfDir) fs.rmSync(pdfDir, { recursive: true, force: true });
});

const shot = (page, name) => screenshot(page, `desk-${name}`);
const pathOf = (page) => new URL(page.url()).pathname;
const textOf = async (locator) => (await locator.innerText()).trim();
const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A world for one test: an SMTP sink and a demo server whose clock starts at `clock`,
 * on a data dir of its own that `restart` keeps. Everything is stopped when the test ends.
 */
async function world(t, name, clock) {
  const mailbox = await startSmtpSink({ logName: `smtp-sink-desk-${name}.log` });
  const dataDir = makeDataDir();
  let server = null;
  let runs = 0;
  const start = async (at) => {
    runs += 1;
    const port = await freePort();
    server = await startServerOn(dataDir, {
      port,
      logName: `server-desk-${name}-${runs}.log`,
      env: {
        SPORTELLO_CLOCK_START: at,
        SPORTELLO_PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        SPORTELLO_MAIL__SMTP_URL: `smtp://127.0.0.1:${mailbox.port}`,
        SPORTELLO_OUTBOX__POLL_INTERVAL_MS: '100',
      },
    });
    return server;
  };
  t.after(async () => {
    await server?.stop();
    await mailbox.stop();
    removeDataDir(dataDir);
  });
  await start(clock);
  return {
    mailbox,
    dataDir,
    get baseUrl() { return server.baseUrl; },
    /** Stop the server and start another on the same data dir with the clock at `at`. */
    async restart(at) {
      await server.stop();
      server = null;
      await start(at);
    },
  };
}

/** A fresh browser context signed in as a demo user (checked to land on "I miei servizi"). */
async function signedIn(t, w, fiscalCode) {
  const page = await openPage(browser, t, AXE_OPTIONS);
  const res = await submitLogin(page, w.baseUrl, fiscalCode, DEMO_PASSWORD);
  assert.equal(res.status(), 200, `login of ${fiscalCode}`);
  assert.equal(pathOf(page), '/', `login of ${fiscalCode} lands on /`);
  assert.equal(await textOf(page.locator('h1')), 'I miei servizi');
  return page;
}

/** Go to a path, expecting 200 there (no redirect). */
async function open(page, w, p) {
  const res = await page.goto(`${w.baseUrl}${p}`);
  assert.equal(res.status(), 200, `GET ${p}`);
  assert.equal(pathOf(page), new URL(`${w.baseUrl}${p}`).pathname, `GET ${p} stays there`);
  return res;
}

/** Run axe on the page as it is now, record it, and keep the record for `assertAxeClean`. */
async function axeCheck(records, page, name, label) {
  const record = axeRecord(`desk-${name}`, label, await runAxe(page));
  await shot(page, `axe-${name}`);
  appendJson(AXE_FILE, [record]); // page by page, so a failure keeps what was measured
  records.push(record);
}

/** Click something that submits a form and wait for the page it leads to. */
async function clickAndWait(page, locator) {
  const [res] = await Promise.all([page.waitForNavigation(), locator.click()]);
  return res;
}

/** One action form of the office's request page, by its heading (the form's accessible name). */
const actionForm = (page, title) => page.getByRole('form', { name: title, exact: true });

/** Submit an action form of /ufficio/richieste/{id} and check it landed on ?ok=<act>. */
async function act(page, w, id, title, button, act) {
  const form = actionForm(page, title);
  assert.equal(await form.count(), 1, `one "${title}" form on the request page`);
  await clickAndWait(page, form.getByRole('button', { name: button, exact: true }));
  assert.equal(page.url(), `${w.baseUrl}/ufficio/richieste/${id}?ok=${act}`, `"${button}" done`);
}

/** A raw RFC 5322 message (CRLF line ends). */
function rawMail({ from, to, subject, messageId, body }) {
  return [
    `From: ${from}`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${messageId}>`,
    'Date: Wed, 25 Nov 2026 10:15:00 +0100', 'MIME-Version: 1.0', body,
  ].join('\r\n');
}

const plainMail = (headers, text) => rawMail({
  ...headers,
  body: `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}\r\n`,
});

/** `sportello mailgate` for this world's server; checks it exited 0 and printed JSON. */
async function mailgate(w, message) {
  const out = await runMailgate({ baseUrl: w.baseUrl, dataDir: w.dataDir, message });
  assert.equal(out.code, 0, `sportello mailgate exit code (stderr: ${out.stderr})`);
  assert.ok(out.json, `sportello mailgate printed JSON: ${out.stdout}`);
  return out.json;
}

/**
 * The input, select or textarea labelled `label` in `scope`: the label's whole text, with
 * or without the required mark (an asterisk hidden from assistive technologies).
 */
const field = (scope, label) => scope.getByLabel(new RegExp(`^${escapeRegExp(label)}(\\s*\\*)?$`));

/** The row of the office desk (or of "Le mie richieste") for a protocol number. */
const rowOf = (table, protocol) => table.locator('tbody tr').filter({ hasText: protocol });

/** The texts of a table row's cells, in order. */
const cellsOf = async (row) => (await row.locator(':scope > th, :scope > td').allInnerTexts()).map((c) => c.trim());

test('CIVIS: closed at night; by day a request from the form, worked by the office, documents by e-mail, outcome', { timeout: 240_000 }, async (t) => {
  const w = await world(t, 'civis', NIGHT);
  const axe = [];

  // 23:30: the channel is closed; the page says when it reopens and offers no form.
  const night = await signedIn(t, w, PAOLO);
  await open(night, w, '/assistenza');
  const card = night.locator('[data-channel=CIVIS]');
  assert.equal(await card.count(), 1, 'CIVIS offered to Paolo on /assistenza');
  assert.match(await textOf(card), /Chiuso/);
  await open(night, w, '/assistenza/CIVIS/nuova');
  await shot(night, 'civis-closed');
  const closed = night.getByRole('alert').filter({ hasText: 'Il canale è chiuso' });
  assert.equal(await closed.count(), 1, '"Il canale è chiuso" alert');
  assert.match(await textOf(closed), /Riapre il 25\/11\/2026 07:00/);
  assert.equal(await night.locator('main form').count(), 0, 'no form while closed');
  assert.equal(await night.locator('main input, main select, main textarea').count(), 0, 'no fields while closed');
  assert.equal(await night.getByRole('button', { name: 'Invia la richiesta' }).count(), 0, 'no "Invia la richiesta" while closed');
  await axeCheck(axe, night, 'civis-closed', '/assistenza/CIVIS/nuova (closed, 23:30)');

  // 10:00 of the next day, same data: the form is there.
  await w.restart(MORNING);
  const paolo = await signedIn(t, w, PAOLO);
  await open(paolo, w, '/assistenza/CIVIS/nuova');
  assert.equal(await paolo.locator('#channel-closed').count(), 0, 'open at 10:00');
  const form = paolo.locator('#request-form');
  assert.ok(await form.isVisible(), 'the request form is shown at 10:00');
  await axeCheck(axe, paolo, 'civis-form', '/assistenza/CIVIS/nuova');

  // The notice lookup fills in the form and keeps what was typed.
  await field(paolo, "Numero della comunicazione di irregolarità o dell'avviso telematico").fill('CI-2026-0004711');
  await field(paolo, 'Codice fiscale del contribuente').fill('RSSMRA80A01H501U');
  const lookup = await clickAndWait(paolo, paolo.getByRole('button', { name: 'Cerca la comunicazione' }));
  assert.equal(lookup.status(), 200, 'lookup answered 200');
  await shot(paolo, 'civis-notice-found');
  const found = paolo.locator('#notice-found');
  assert.ok(await found.isVisible(), 'the notice found is shown');
  assert.equal(await textOf(paolo.locator('#notice-model')), 'Redditi PF 2025');
  assert.equal(await textOf(paolo.locator('#notice-year')), '2024');
  assert.equal(await field(paolo, "Numero della comunicazione di irregolarità o dell'avviso telematico").inputValue(), 'CI-2026-0004711');
  assert.equal(await field(paolo, 'Codice fiscale del contribuente').inputValue(), 'RSSMRA80A01H501U');
  await axeCheck(axe, paolo, 'civis-notice-found', '/assistenza/CIVIS/nuova (notice found)');

  const subject = 'Comunicazione già pagata';
  const body = 'Il contribuente ha versato quanto dovuto con F24 del 16/06/2025.';
  await field(paolo, 'Motivazione della richiesta').selectOption('Pagamento già effettuato');
  await field(paolo, 'Oggetto').fill(subject);
  await field(paolo, 'Descrizione della richiesta').fill(body);
  await field(paolo, 'Nominativo di riferimento').fill('Paolo Gallo');
  await field(paolo, 'Telefono').fill('0532 123456');
  await field(paolo, 'E-mail').fill(PAOLO_CONTACT);
  const receipt = path.join(pdfDir, 'ricevuta-f24.pdf');
  fs.writeFileSync(receipt, PDF);
  await field(paolo, 'Allegati (facoltativi)').setInputFiles(receipt);

  const seen = await w.mailbox.mark();
  await clickAndWait(paolo, paolo.getByRole('button', { name: 'Invia la richiesta' }));
  const registered = paolo.url().match(new RegExp(`^${escapeRegExp(w.baseUrl)}/assistenza/richieste/(\\d+)\\?nuova=1$`));
  assert.ok(registered, `redirected to the new request, got ${paolo.url()}`);
  const id = Number(registered[1]);
  await shot(paolo, 'civis-registered');
  const protocol = `CIVIS-${YEAR}-0000001`;
  assert.equal(await textOf(paolo.locator('[data-testid=protocol]')), protocol);
  assert.equal(await textOf(paolo.locator('#request-state')), 'Da prendere in carico');
  assert.match(await textOf(paolo.locator('#request-fields')), /Redditi PF 2025/);
  assert.equal(await paolo.getByRole('link', { name: 'ricevuta-f24.pdf' }).count(), 1, 'his attachment is listed on his request');
  await axeCheck(axe, paolo, 'civis-registered', '/assistenza/richieste/{id}?nuova=1');

  const toOffice = await w.mailbox.waitFor({ to: OFFICE_MAILBOX, subject: `[${protocol}] Nuova richiesta di assistenza CIVIS: ${subject}`, after: seen });
  assert.match(toOffice.text, new RegExp(`Protocollo: ${protocol}`));
  assert.match(toOffice.text, new RegExp(`E-mail: ${escapeRegExp(PAOLO_CONTACT)}`));
  await w.mailbox.waitFor({ to: PAOLO_CONTACT, subject: `[${protocol}] Richiesta di assistenza registrata`, after: seen });

  // The manager finds it to take on her desk and assigns it to Davide.
  const sara = await signedIn(t, w, SARA);
  await open(sara, w, '/ufficio');
  const saraRow = rowOf(sara.locator('#office-requests'), protocol);
  assert.equal(await saraRow.count(), 1, `${protocol} on Sara's desk, bucket "Da prendere in carico"`);
  const saraCells = await cellsOf(saraRow);
  assert.equal(saraCells[2], 'CIVIS', 'channel');
  assert.equal(saraCells[3], 'Paolo Gallo', 'requester');
  assert.equal(saraCells[4], subject, 'subject');
  assert.equal(saraCells[5], 'Direzione Provinciale di Ferrara - Ufficio territoriale', 'routed to his associated office');
  assert.equal(saraCells[7], 'Da prendere in carico', 'state');
  await axeCheck(axe, sara, 'office-desk', '/ufficio (manager)');
  await clickAndWait(sara, saraRow.getByRole('link', { name: protocol }));
  assert.equal(pathOf(sara), `/ufficio/richieste/${id}`);
  await axeCheck(axe, sara, 'office-request-new', '/ufficio/richieste/{id} (new, manager)');
  await field(actionForm(sara, 'Assegna'), 'Assegnatario').selectOption({ label: 'Davide Romano' });
  await act(sara, w, id, 'Assegna', 'Assegna la richiesta', 'assign');
  assert.match(await textOf(sara.locator('#notice')), /Richiesta assegnata/);
  assert.equal(await textOf(sara.locator('#request-assignee')), 'Davide Romano');
  assert.equal(await sara.locator('#request-state').getAttribute('data-state'), 'assigned');

  // Davide takes it and asks for documents; Paolo's contact address gets the message.
  const davide = await signedIn(t, w, DAVIDE);
  await open(davide, w, `/ufficio/richieste/${id}`);
  await act(davide, w, id, 'Prendi in carico', 'Prendi in carico', 'take');
  assert.equal(await davide.locator('#request-state').getAttribute('data-state'), 'in_progress');
  const askText = 'Inviare la quietanza del versamento F24.';
  await field(actionForm(davide, 'Chiedi documentazione'), 'Testo del messaggio').fill(askText);
  const beforeAsk = await w.mailbox.mark();
  await act(davide, w, id, 'Chiedi documentazione', 'Chiedi la documentazione', 'ask_documents');
  assert.equal(await davide.locator('#request-state').getAttribute('data-state'), 'waiting_requester');
  assert.equal(await textOf(davide.locator('#request-state')), 'In attesa del richiedente');
  await axeCheck(axe, davide, 'office-request-waiting', '/ufficio/richieste/{id} (waiting for the requester)');
  const asked = await w.mailbox.waitFor({ to: PAOLO_CONTACT, subject: `[${protocol}] Richiesta di documentazione`, after: beforeAsk });
  assert.match(asked.text, new RegExp(escapeRegExp(askText)));

  // Paolo answers by e-mail with the receipt; the mail gate adds it to the request.
  const reply = rawMail({
    from: `Paolo Gallo <${PAOLO_CONTACT}>`,
    to: OFFICE_MAILBOX,
    subject: `R: [${protocol}] Richiesta di documentazione`,
    messageId: 'reply-1@studio.example.it',
    body: [
      'Content-Type: multipart/mixed; boundary="b1"', '',
      '--b1', 'Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: quoted-printable', '',
      'In allegato la quietanza del versamento, perch=E9 richiesta.',
      '--b1', 'Content-Type: application/pdf; name="quietanza.pdf"',
      'Content-Disposition: attachment; filename="quietanza.pdf"', 'Content-Transfer-Encoding: base64', '',
      PDF.toString('base64'),
      '--b1--', '',
    ].join('\r\n'),
  });
  const gate = await mailgate(w, reply);
  assert.equal(gate.status, 'attached', `mailgate: ${JSON.stringify(gate)}`);
  assert.equal(gate.protocol, protocol);
  assert.equal(gate.request_id, id);

  await davide.reload();
  assert.equal(await davide.locator('#request-state').getAttribute('data-state'), 'in_progress', 'the reply puts it back in progress');
  const incoming = davide.locator('#events > li').filter({ hasText: 'Messaggio del richiedente' });
  assert.equal(await incoming.count(), 1, 'the message from the requester is in the history');
  assert.match(await textOf(incoming), /In allegato la quietanza del versamento, perché richiesta\./);
  const link = incoming.getByRole('link', { name: 'quietanza.pdf' });
  assert.equal(await link.count(), 1, 'quietanza.pdf linked on the message');
  const [download] = await Promise.all([davide.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'quietanza.pdf');
  const downloaded = fs.readFileSync(await download.path());
  assert.equal(downloaded.subarray(0, 8).toString('latin1'), '%PDF-1.4', 'the download is a PDF');
  assert.deepEqual(downloaded, PDF, 'the download is the document that was mailed');

  // An internal note, then the outcome.
  const note = 'Verificato il versamento in anagrafe tributaria: nota riservata.';
  await field(actionForm(davide, 'Nota interna'), 'Testo della nota').fill(note);
  await act(davide, w, id, 'Nota interna', 'Aggiungi la nota', 'note');
  assert.equal(await davide.locator('#events > li[data-kind=internal]').filter({ hasText: note }).count(), 1, 'the note is in the office history');

  const outcome = 'Accolta: comunicazione annullata';
  const closeForm = actionForm(davide, 'Chiudi la richiesta');
  await field(closeForm, 'Esito').selectOption(outcome);
  await field(closeForm, 'Motivazione o istruzioni (facoltative)').fill('Il versamento risulta regolare.');
  const beforeClose = await w.mailbox.mark();
  await act(davide, w, id, 'Chiudi la richiesta', 'Chiudi con questo esito', 'close');
  assert.equal(await davide.locator('#request-state').getAttribute('data-state'), 'closed');
  assert.equal(await textOf(davide.locator('#request-outcome')), outcome);
  assert.equal(await actionForm(davide, 'Chiudi la richiesta').count(), 0, 'no close form on a closed request');
  await axeCheck(axe, davide, 'office-request-closed', '/ufficio/richieste/{id} (closed)');
  const outcomeMail = await w.mailbox.waitFor({ to: PAOLO_CONTACT, subject: `[${protocol}] Esito della richiesta di assistenza: ${outcome}`, after: beforeClose });
  assert.match(outcomeMail.text, /Il versamento risulta regolare\./);

  // Paolo sees the outcome and the correspondence, never the internal note.
  await open(paolo, w, `/assistenza/richieste/${id}`);
  await shot(paolo, 'civis-closed-requester');
  assert.equal(await textOf(paolo.locator('#request-state')), 'Chiusa');
  assert.equal(await textOf(paolo.locator('#request-outcome')), outcome);
  const main = await textOf(paolo.locator('main'));
  assert.match(main, new RegExp(escapeRegExp(askText)), 'the documents request is in his correspondence');
  assert.match(main, /perché richiesta/, 'his own e-mail is in his correspondence');
  assert.ok(!main.includes(note), 'the internal note is not shown to the requester');
  assert.ok(!main.includes('Verificato il versamento'), 'no part of the internal note is shown to the requester');
  assert.equal(await paolo.locator('#events > li[data-kind=internal]').count(), 0, 'no internal entry for the requester');
  assert.equal(await paolo.locator('#reply-form').count(), 0, 'no reply form on a closed request');
  await axeCheck(axe, paolo, 'civis-closed-requester', '/assistenza/richieste/{id} (closed, requester)');
  await open(paolo, w, '/assistenza');
  const mine = rowOf(paolo.locator('#my-requests'), protocol);
  assert.equal(await mine.count(), 1, `${protocol} in "Le mie richieste"`);
  const mineCells = await cellsOf(mine);
  assert.equal(mineCells[4], 'Chiusa', 'state');
  assert.equal(mineCells[5], outcome, 'outcome');

  // The office's report of the day counts it, with its outcome.
  await open(sara, w, '/ufficio/report');
  await shot(sara, 'civis-report');
  assert.ok(await sara.locator('#report').isVisible(), 'a report is shown for the default scope and period');
  assert.equal(await textOf(sara.locator('#total-opened')), '1', 'opened in the period');
  assert.equal(await textOf(sara.locator('#total-closed')), '1', 'closed in the period');
  assert.equal(await textOf(sara.locator('#total-to-take')), '0', 'nothing left to take');
  const byOutcome = await cellsOf(sara.locator('#outcomes tbody tr').filter({ hasText: outcome }));
  assert.deepEqual(byOutcome, [outcome, '1'], 'one request closed with this outcome');
  await axeCheck(axe, sara, 'office-report', '/ufficio/report (manager)');

  await assertAxeClean(t, paolo, axe);
});

test('BDNA by e-mail: opened by the mail gate, acknowledged, taken by the prefecture, followed by the sender', { timeout: 180_000 }, async (t) => {
  const w = await world(t, 'bdna', MORNING);
  const axe = [];

  const seen = await w.mailbox.mark();
  const gate = await mailgate(w, plainMail({
    from: `Marco Ferri <${MARCO.email}>`,
    to: BDNA_ADDRESS,
    subject: 'BDNA - richiesta rinnovo certificato digitale',
    messageId: 'bdna-1@comune.example.it',
  }, 'Il certificato scade il 30/11, chiedo il rinnovo.'));
  assert.equal(gate.status, 'opened', `mailgate: ${JSON.stringify(gate)}`);
  assert.match(gate.protocol ?? '', new RegExp(`^BDNA-${YEAR}-\\d{7}$`));
  assert.equal(gate.protocol, `BDNA-${YEAR}-0000001`, 'first number of the year on a fresh register');
  const protocol = gate.protocol;
  const id = gate.request_id;
  assert.ok(Number.isInteger(id), `request_id in ${JSON.stringify(gate)}`);

  const ack = await w.mailbox.waitFor({ to: MARCO.email, subject: `[${protocol}] Richiesta di assistenza registrata`, after: seen });
  assert.match(ack.text, new RegExp(`Protocollo: ${protocol}`));

  // The renewal went to the Ferrara prefecture: Chiara has it to take.
  const chiara = await signedIn(t, w, CHIARA);
  await open(chiara, w, '/ufficio');
  const row = rowOf(chiara.locator('#office-requests'), protocol);
  assert.equal(await row.count(), 1, `${protocol} on Chiara's desk, bucket "Da prendere in carico"`);
  const cells = await cellsOf(row);
  assert.equal(cells[2], 'BDNA', 'channel');
  assert.equal(cells[3], 'Marco Ferri', 'requester: the account of the sender');
  assert.equal(cells[4], 'BDNA - richiesta rinnovo certificato digitale', 'subject');
  assert.equal(cells[5], 'Prefettura di Ferrara - Sezione provinciale B.D.N.A.', 'routed to the competent prefecture');
  assert.equal(cells[7], 'Da prendere in carico', 'state');
  await axeCheck(axe, chiara, 'bdna-desk', '/ufficio (prefecture)');
  await clickAndWait(chiara, row.getByRole('link', { name: protocol }));
  assert.equal(pathOf(chiara), `/ufficio/richieste/${id}`);
  assert.match(await textOf(chiara.locator('#requester')), /Ricevuta tramite\s+E-mail/);
  assert.match(await textOf(chiara.locator('#request-body')), /chiedo il rinnovo/);
  await act(chiara, w, id, 'Prendi in carico', 'Prendi in carico', 'take');
  assert.equal(await chiara.locator('#request-state').getAttribute('data-state'), 'in_progress');
  assert.equal(await textOf(chiara.locator('#request-assignee')), 'Chiara Greco');
  await axeCheck(axe, chiara, 'bdna-request', '/ufficio/richieste/{id} (BDNA, in progress)');

  // Marco, who wrote the e-mail, follows it on the portal.
  const marco = await signedIn(t, w, MARCO.fiscalCode);
  await open(marco, w, '/assistenza');
  const mine = rowOf(marco.locator('#my-requests'), protocol);
  assert.equal(await mine.count(), 1, `${protocol} in Marco's "Le mie richieste"`);
  const mineCells = await cellsOf(mine);
  assert.equal(mineCells[2], 'BDNA', 'channel');
  assert.equal(mineCells[3], 'BDNA - richiesta rinnovo certificato digitale', 'subject');
  assert.equal(mineCells[4], 'In lavorazione', 'state after Chiara took it');
  await axeCheck(axe, marco, 'bdna-requester-home', '/assistenza (BDNA requester)');
  await clickAndWait(marco, mine.getByRole('link', { name: protocol }));
  assert.equal(pathOf(marco), `/assistenza/richieste/${id}`);
  assert.equal(await textOf(marco.locator('#request-protocol')), protocol);

  await assertAxeClean(t, marco, axe);
});

test('mail with neither a protocol nor a channel acronym, from an unknown sender, waits in triage', { timeout: 120_000 }, async (t) => {
  const w = await world(t, 'triage', MORNING);
  const axe = [];
  const subject = 'Richiesta di informazioni sul servizio';
  const gate = await mailgate(w, plainMail({
    from: 'Mittente Ignoto <ignoto.mittente@example.org>',
    to: BDNA_ADDRESS,
    subject,
    messageId: 'unknown-1@example.org',
  }, 'Vorrei sapere come si accede.'));
  assert.equal(gate.status, 'triage', `mailgate: ${JSON.stringify(gate)}`);
  assert.equal(gate.request_id, null, 'no request opened');
  assert.equal(gate.protocol, null, 'no protocol number given');
  assert.ok(gate.reason, 'a reason is given');

  const chiara = await signedIn(t, w, CHIARA);
  await open(chiara, w, '/ufficio/smistamento');
  await shot(chiara, 'triage');
  const row = chiara.locator(`#triage tbody tr[data-message="${gate.inbound_id}"]`);
  assert.equal(await row.count(), 1, 'the message is listed for triage');
  const cells = await cellsOf(row);
  assert.match(cells[1], /ignoto\.mittente@example\.org/, 'sender shown');
  assert.match(cells[1], new RegExp(escapeRegExp(BDNA_ADDRESS)), 'recipient shown');
  assert.equal(cells[2], subject, 'subject shown');
  assert.equal(cells[3], gate.reason, 'the reason shown is the one the mail gate gave');
  assert.match(cells[3], /né un numero di protocollo né la sigla di un canale/);
  await axeCheck(axe, chiara, 'triage', '/ufficio/smistamento');

  // Nothing was opened from it.
  await open(chiara, w, '/ufficio?stato=all');
  assert.ok(await chiara.locator('#no-requests').isVisible(), 'no request on the desk');

  await assertAxeClean(t, chiara, axe);
});
