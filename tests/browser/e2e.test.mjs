// End to end: the in-browser simulation (web/) in headless Debian chromium, driven by
// playwright-core (never a downloaded browser). Needs pkg/ (`just wasm`) and /usr/bin/chromium
// (scripts/bootstrap.sh). Artifacts (screenshots, the downloaded snapshots) go to ./artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

let server;
let url;
let context;
let profile;
let page;
const problems = []; // console errors, page errors, failed requests

before(async () => {
  assert.ok(existsSync(fileURLToPath(new URL('../../pkg/bacalhau_state_wasm_bg.wasm', import.meta.url))),
    'pkg/ is missing: run `just wasm` first');
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  await rm(ARTIFACTS, { recursive: true, force: true });
  await mkdir(ARTIFACTS, { recursive: true });
  ({ server, url } = await serve(0));
  profile = await mkdtemp(join(tmpdir(), 'bacalhau-sim-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
});

after(async () => {
  await context?.close();
  server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

const ready = () => page.waitForFunction(() => window.sim?.ready === true, null, { timeout: 15_000 });
const noErrors = async () => {
  assert.deepEqual(await page.evaluate(() => window.sim.errors), [], 'errors shown on the page');
  assert.equal(await page.locator('#errors').isHidden(), true, 'the error banner is shown');
  assert.deepEqual(problems, [], 'console errors');
};
const checkStores = async () => {
  const reports = await page.evaluate(() => window.sim.check());
  assert.ok(reports.length >= 2, 'a requester and at least one node');
  for (const r of reports) assert.deepEqual(r.problems, [], `check() of ${r.store}`);
  return reports;
};

test('the simulation runs, shows what the stores hold, and round-trips through snapshots', async (t) => {
  const started = Date.now();
  await page.goto(url);
  await ready();
  assert.equal(await page.evaluate(() => window.sim.running), true, 'the simulation starts by itself');

  // Several nodes, a brisk job rate, 5x speed.
  await page.locator('#nodes').fill('5');
  await page.locator('#nodes').dispatchEvent('change');
  await page.locator('#rate').fill('8');
  await page.locator('#speed').selectOption('5');

  // The counts move: jobs submitted, some executions completed (on the requester and on a node).
  await page.waitForFunction(() => {
    const c = window.sim.storeCounts();
    const nodeCompleted = Object.values(c.nodes).reduce((s, n) => s + (n.Completed ?? 0), 0);
    return c.jobTotal > 20 && (c.executions.Completed ?? 0) > 5 && nodeCompleted > 5 && (c.jobs.Completed ?? 0) > 0;
  }, null, { timeout: 20_000, polling: 250 });
  await page.waitForTimeout(1000);
  await noErrors();

  // Pause with the button; the DOM's counts (built from the event streams) equal the stores' stats().
  await page.locator('#pause').click();
  assert.equal(await page.evaluate(() => window.sim.running), false);
  assert.equal(await page.locator('#pause').textContent(), 'Resume');
  const shown = await page.evaluate(() => window.sim.counts());
  const stored = await page.evaluate(() => window.sim.storeCounts());
  assert.deepEqual(shown, stored, 'counts on the page vs the stores');
  assert.equal(Object.keys(shown.nodes).length, 5, 'five nodes in the table');
  t.diagnostic(`after ${((Date.now() - started) / 1000).toFixed(1)} s: ${shown.jobTotal} jobs ${JSON.stringify(shown.jobs)}`);
  await checkStores();
  // Paused means paused: nothing changes.
  await page.waitForTimeout(300);
  assert.deepEqual(await page.evaluate(() => window.sim.storeCounts()), stored);
  const events = await page.locator('#events li').count();
  assert.ok(events > 10, `event stream shows events (${events})`);

  const shot = join(ARTIFACTS, 'simulation.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);

  // Download the requester snapshot and each node's.
  const files = [];
  const grab = async (locator) => {
    const [download] = await Promise.all([page.waitForEvent('download'), locator.click()]);
    const path = join(ARTIFACTS, download.suggestedFilename());
    await download.saveAs(path);
    files.push(path);
  };
  await grab(page.locator('#download'));
  for (const a of await page.locator('a[data-download]').all()) await grab(a);
  assert.equal(files.length, 6);
  assert.match(files[0], /bacalhau-requester-t\d+\.snapshot$/);

  // A fresh page (not started), then load the snapshots back: the same counts.
  await page.goto(`${url}?paused`);
  await ready();
  assert.equal(await page.evaluate(() => window.sim.storeCounts().jobTotal), 0, 'a fresh page starts empty');
  await page.locator('#load').setInputFiles(files);
  await page.waitForFunction(() => document.getElementById('load-status').textContent.startsWith('loaded'), null, { timeout: 10_000 });
  assert.equal(await page.locator('#load-status').textContent(), 'loaded 6 snapshot(s)');
  assert.deepEqual(await page.evaluate(() => window.sim.counts()), shown, 'counts after loading the snapshots');
  assert.deepEqual(await page.evaluate(() => window.sim.storeCounts()), stored);
  await checkStores();
  await noErrors();

  // The loaded state carries on: resume, run, pause, and the page still agrees with the stores.
  await page.locator('#pause').click();
  await page.waitForFunction((n) => window.sim.storeCounts().jobTotal > n + 5, shown.jobTotal, { timeout: 10_000 });
  await page.locator('#pause').click();
  assert.deepEqual(await page.evaluate(() => window.sim.counts()), await page.evaluate(() => window.sim.storeCounts()));
  await checkStores();
  await page.screenshot({ path: join(ARTIFACTS, 'simulation-after-load.png'), fullPage: true });
  await noErrors();

  // A file that is not a snapshot is refused next to the input and is not a store failure.
  const bogus = { name: 'bogus.snapshot', mimeType: 'application/octet-stream', buffer: Buffer.from('not a snapshot') };
  await page.locator('#load').setInputFiles(bogus);
  await page.waitForFunction(() => document.getElementById('load-status').textContent.startsWith('could not load'));
  assert.match(await page.locator('#load-status').textContent(), /SnapshotInvalid/);
  await noErrors();
});

test('a store error stops the simulation and is shown on the page', async () => {
  await page.goto(`${url}?paused`);
  await ready();
  problems.length = 0;
  // Force an invalid transition the way a buggy driver would: a Created record straight to Completed.
  await page.evaluate(() => {
    const store = window.sim.engine.nodes[0].store;
    store.createExecution({
      Execution: { ID: 'e-broken', JobID: 'j-broken', Namespace: 'default', NodeID: 'node-1',
        Job: { ID: 'j-broken', Name: 'broken', Type: 'batch', Count: 1, Tasks: [{ Name: 'main', Engine: { Type: 'docker' } }] } },
      RequesterNodeID: 'requester-0', State: 'Created', Version: 1,
    });
    const tick = window.sim.engine.tick.bind(window.sim.engine);
    window.sim.engine.tick = () => {
      store.updateExecutionState({ executionId: 'e-broken', newState: 'Completed' });
      return tick();
    };
  });
  await assert.rejects(page.evaluate(() => window.sim.step(1)), /InvalidTransition|Completed/);
  assert.equal(await page.locator('#errors').isVisible(), true);
  assert.match(await page.locator('#error-list').textContent(), /\[InvalidTransition\]/);
  assert.equal(await page.locator('#status').getAttribute('data-state'), 'error');
  assert.ok(problems.some((p) => p.includes('InvalidTransition')), 'the error is also in the console');
  problems.length = 0;
});
