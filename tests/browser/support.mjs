// Shared helpers for Sportello's browser suites: a server on a free loopback port,
// a real SMTP sink, headless Debian Chromium through playwright-core, screenshots,
// axe-core and the Italian codice fiscale check character.
//
// Env: SPORTELLO_TEST_BIN (server binary), CHROMIUM_PATH (browser),
//      SPORTELLO_TEST_BROWSER_DATABASE_URL (optional, passed as --database-url).

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const artifacts = path.join(repoRoot, 'artifacts', 'browser');
export const serverBin = path.resolve(here, process.env.SPORTELLO_TEST_BIN || '../../target/debug/sportello');
const smtpSinkScript = path.join(repoRoot, 'tests', 'support', 'smtp_sink.py');
const axeSource = fs.readFileSync(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

export const DEMO_PASSWORD = 'Demo-Sportello-2026';
export const AXE_WCAG21_AA = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/** Ask the OS for a free TCP port on the loopback interface. */
export function freePort() {
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

/** SIGTERM a child, SIGKILL it if it has not exited after `graceMs`; resolves when it is gone. */
async function terminate(child, exited, graceMs) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Start `sportello serve --demo` on a free loopback port with a fresh data dir.
 * `env` adds variables (only known SPORTELLO_* names: unknown ones stop the server);
 * `port` may be chosen by the caller when the environment must name it.
 * Resolves with { baseUrl, port, dataDir, logPath, stop() } once /healthz answers 200.
 */
export async function startServer({ logName = 'server.log', env = {}, port } = {}) {
  fs.mkdirSync(artifacts, { recursive: true });
  assert.ok(fs.existsSync(serverBin), `server binary not found: ${serverBin} (build it or set SPORTELLO_TEST_BIN)`);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sportello-browser-'));
  port ??= await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const args = ['serve', '--demo', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir];
  if (process.env.SPORTELLO_TEST_BROWSER_DATABASE_URL) {
    args.push('--database-url', process.env.SPORTELLO_TEST_BROWSER_DATABASE_URL);
  }

  const logPath = path.join(artifacts, logName);
  const log = fs.openSync(logPath, 'w');
  const child = spawn(serverBin, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  fs.closeSync(log); // the child keeps its own copy of the descriptor
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));

  const stop = async () => {
    await terminate(child, exited, 15_000);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHealthy(baseUrl, exited, logPath, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { baseUrl, port, dataDir, logPath, stop };
}

/** Poll GET /healthz until it answers 200; fail early if the server exits. */
async function waitForHealthy(url, exited, logPath, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exitCode = null;
  exited.then((code) => { exitCode = code; });
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (exitCode !== null) throw new Error(`server exited early (code ${exitCode}); see ${logPath}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
      lastError = `status ${res.status}`;
    } catch (e) {
      lastError = e.message;
    }
    await sleep(250);
  }
  throw new Error(`server not healthy after ${timeoutMs} ms (${lastError}); see ${logPath}`);
}

/**
 * Start tests/support/smtp_sink.py (aiosmtpd) on a free loopback port, writing one
 * .eml file per message into a fresh directory. Resolves once it prints "ready".
 */
export async function startSmtpSink({ logName = 'smtp-sink.log' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sportello-mail-'));
  const port = await freePort();
  const logPath = path.join(artifacts, logName);
  const log = fs.createWriteStream(logPath);
  const child = spawn('python3', [smtpSinkScript, '--port', String(port), '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  child.stderr.pipe(log);
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`SMTP sink not ready after 15 s; see ${logPath}`)), 15_000);
    child.stdout.on('data', (chunk) => {
      log.write(chunk);
      out += chunk;
      if (/^ready$/m.test(out)) { clearTimeout(timer); resolve(); }
    });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`SMTP sink exited early (code ${code}); see ${logPath}`)); });
  }).catch(async (e) => {
    await terminate(child, exited, 5_000);
    throw e;
  });
  return new Mailbox({ dir, port, stop: async () => {
    await terminate(child, exited, 5_000);
    log.end();
    fs.rmSync(dir, { recursive: true, force: true });
  } });
}

// Decodes .eml files (quoted-printable or base64, any charset) with Python's email package.
const DECODE_EML = `
import json, sys
from email import policy
from email.parser import BytesParser
out = []
for name in sys.argv[1:]:
    with open(name, 'rb') as f:
        msg = BytesParser(policy=policy.default).parse(f)
    body = msg.get_body(preferencelist=('plain',))
    out.append({
        'file': name,
        'to': [a.addr_spec for h in msg.get_all('to', []) for a in h.addresses],
        'subject': str(msg['subject'] or ''),
        'encoding': str((body or msg).get('content-transfer-encoding', '')),
        'text': body.get_content() if body is not None else '',
    })
json.dump(out, sys.stdout)
`;

/** The messages received by the SMTP sink; files starting with '.' are still being written. */
export class Mailbox {
  #decoded = new Map(); // file name -> decoded message (complete files never change)

  constructor({ dir, port, stop }) {
    this.dir = dir;
    this.port = port;
    this.stop = stop;
  }

  /** Every complete message so far, oldest first, decoded: { file, to[], subject, encoding, text }. */
  async messages() {
    const names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort();
    const fresh = names.filter((n) => !this.#decoded.has(n));
    if (fresh.length > 0) {
      const stdout = await new Promise((resolve, reject) => {
        execFile('python3', ['-c', DECODE_EML, ...fresh.map((n) => path.join(this.dir, n))],
          { maxBuffer: 16 * 1024 * 1024, timeout: 10_000 },
          (err, out, errOut) => (err ? reject(new Error(`decoding mail: ${err.message}\n${errOut}`)) : resolve(out)));
      });
      for (const m of JSON.parse(stdout)) this.#decoded.set(path.basename(m.file), { ...m, file: path.basename(m.file) });
    }
    return names.map((n) => this.#decoded.get(n));
  }

  /** Names of the messages received so far: pass it as `after` to wait only for newer ones. */
  async mark() {
    return new Set((await this.messages()).map((m) => m.file));
  }

  /** Wait for the one message to `to` whose subject is `subject` (and not in `after`). */
  async waitFor({ to, subject, after = new Set(), timeoutMs = 15_000 }) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await this.messages();
      const found = all.filter((m) => !after.has(m.file) && m.subject === subject
        && m.to.some((a) => a.toLowerCase() === to.toLowerCase()));
      if (found.length > 1) assert.fail(`${found.length} messages "${subject}" to ${to}, expected one`);
      if (found.length === 1) return found[0];
      if (Date.now() > deadline) {
        const seen = all.map((m) => `  ${m.to.join(',')}: ${m.subject}`).join('\n');
        assert.fail(`no message "${subject}" to ${to} within ${timeoutMs} ms; received:\n${seen}`);
      }
      await sleep(150);
    }
  }
}

/** Headless Debian Chromium; never downloads a browser. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Fresh context + page (Italian, desktop size); the context is closed when the test ends. */
export async function newPage(browser, t, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'it-IT', ...options });
  context.setDefaultTimeout(15_000);
  t.after(() => context.close());
  return context.newPage();
}

export function screenshot(page, name) {
  return page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/** Click a submit button (or anything that navigates) and resolve with the final response. */
export async function submit(page, selector) {
  const [res] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
  return res;
}

/** Fill and submit the login form; resolves with the final response (after any redirect). */
export async function submitLogin(page, baseUrl, fiscalCode, password) {
  await page.goto(`${baseUrl}/accedi`);
  await page.fill('#fiscal_code', fiscalCode);
  await page.fill('#password', password);
  return submit(page, 'form[action="/accedi"] button[type=submit]');
}

/** Inject axe-core into the current page and run the WCAG 2.1 A/AA rules (or `options`). */
export async function runAxe(page, options = AXE_WCAG21_AA) {
  await page.addScriptTag({ content: axeSource });
  return page.evaluate((opts) => axe.run(document, opts), options);
}

/** The parts of an axe result worth keeping in artifacts. */
export function axeRecord(name, pagePath, r) {
  return {
    name,
    path: pagePath,
    url: r.url,
    passes: r.passes.length,
    // Rules axe could not decide (e.g. contrast over an image or a gradient): to check by hand.
    incomplete: r.incomplete.map(({ id, impact, help, nodes }) => ({
      id, impact, help,
      nodes: nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
    })),
    violations: r.violations.map(({ id, impact, help, helpUrl, nodes }) => ({
      id, impact, help, helpUrl,
      nodes: nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
    })),
  };
}

export function describeViolation(p, v) {
  return `${p.path}: [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`;
}

/**
 * The common checks on a set of axe records: every page evaluated some rule, axe flags
 * a planted violation on `page` (so it is not a silent no-op), every violation goes to
 * the test's diagnostics, and none is serious or critical.
 */
export async function assertAxeClean(t, page, records) {
  for (const p of records) assert.ok(p.passes > 0, `axe evaluated no rule on ${p.path}`);
  await page.evaluate(() => document.querySelector('main').insertAdjacentHTML('beforeend', '<img src="/static/sportello.css" id="planted">'));
  const planted = await runAxe(page, { runOnly: { type: 'rule', values: ['image-alt'] } });
  assert.deepEqual(planted.violations.map((v) => [v.id, v.impact, v.nodes[0].target[0]]), [['image-alt', 'critical', '#planted']]);

  for (const p of records) {
    for (const v of p.violations) t.diagnostic(describeViolation(p, v)); // minor/moderate too, for the record
  }
  const severe = records.flatMap((p) => p.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => describeViolation(p, v)));
  assert.deepEqual(severe, [], `serious/critical axe violations:\n${severe.join('\n')}`);
}

/** Append records to a JSON array file in artifacts (created if missing or unreadable). */
export function appendJson(name, records) {
  const file = path.join(artifacts, name);
  let existing = [];
  try {
    existing = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(existing)) existing = [];
  } catch {
    existing = [];
  }
  fs.writeFileSync(file, JSON.stringify([...existing, ...records], null, 2));
}

const ODD_VALUES = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

/** The check character of a codice fiscale's first 15 characters. */
export function fiscalCodeCheck(first15) {
  assert.match(first15, /^[A-Z0-9]{15}$/, `not 15 codice fiscale characters: ${first15}`);
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const c = first15[i];
    // Digits 0-9 count as letters A-J in both tables.
    const index = c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : c.charCodeAt(0) - 65;
    sum += i % 2 === 0 ? ODD_VALUES[index] : index; // i even = 1st, 3rd, ... (odd positions)
  }
  return String.fromCharCode(65 + (sum % 26));
}

/** A complete codice fiscale from its first 15 characters. */
export const fiscalCode = (first15) => first15 + fiscalCodeCheck(first15);

/**
 * Start `sportello serve --demo` on a data dir the caller owns (fresh from
 * `makeDataDir()` or left by an earlier server), so one test can restart the
 * server on the same data, e.g. with another SPORTELLO_CLOCK_START. Same
 * options as `startServer`; `stop()` leaves the data dir in place (remove it
 * with `removeDataDir`).
 */
export async function startServerOn(dataDir, { logName = 'server.log', env = {}, port } = {}) {
  fs.mkdirSync(artifacts, { recursive: true });
  assert.ok(fs.existsSync(serverBin), `server binary not found: ${serverBin} (build it or set SPORTELLO_TEST_BIN)`);
  assert.ok(fs.existsSync(dataDir), `data dir not found: ${dataDir}`);

  port ??= await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const args = ['serve', '--demo', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir];
  if (process.env.SPORTELLO_TEST_BROWSER_DATABASE_URL) {
    args.push('--database-url', process.env.SPORTELLO_TEST_BROWSER_DATABASE_URL);
  }

  const logPath = path.join(artifacts, logName);
  const log = fs.openSync(logPath, 'w');
  const child = spawn(serverBin, args, { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));

  const stop = () => terminate(child, exited, 15_000);
  try {
    await waitForHealthy(baseUrl, exited, logPath, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { baseUrl, port, dataDir, logPath, stop };
}

/** A fresh, empty data dir for `startServerOn`. */
export function makeDataDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sportello-browser-'));
}

export function removeDataDir(dataDir) {
  fs.rmSync(dataDir, { recursive: true, force: true });
}

/**
 * Pipe a raw RFC 5322 message into `sportello mailgate --url <baseUrl>` with the
 * server's data dir (for its mailgate.token). Resolves with { code, stdout, stderr, json }
 * (json is the parsed stdout, or null).
 */
export function runMailgate({ baseUrl, dataDir, message, timeoutMs = 30_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(serverBin, ['mailgate', '--url', baseUrl], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SPORTELLO_DATA_DIR: dataDir },
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let json = null;
      try { json = JSON.parse(stdout); } catch { json = null; }
      resolve({ code: code ?? signal, stdout, stderr, json });
    });
    child.stdin.end(message);
  });
}
