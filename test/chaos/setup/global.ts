import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startPostgres, type RunningPostgres } from '../../../src/devenv/postgres';
import { startTemporal, tempDbFilename, type RunningTemporal } from '../../../src/devenv/temporal';
import { bundleWorkflowsForTests } from '../../setup/workflow-bundle';
import { reportAsError, startAllOrNothing } from '../../../src/devenv/setup-error';
import { projectRoot } from '../../../src/devenv/paths';
import { summarize, markdownTable, type ScenarioResult } from '../results';

declare module 'vitest' {
  export interface ProvidedContext {
    /** POST <url>/<action>: temporal-kill, temporal-restart, pg-halt, pg-resume, pg-restart. */
    chaosControlUrl: string;
    /** Every log the chaos suite captures goes here (scanned for secrets at the end). */
    chaosLogDir: string;
    /** JSON lines, one per scenario run (test/chaos/results.ts). */
    chaosResultsFile: string;
    /** JSON lines {name, value}: the admin tokens the files made up, for the final secrets scan (kept outside the log directory). */
    chaosSecretsFile: string;
  }
}

let pg: RunningPostgres | undefined;
let temporal: RunningTemporal | undefined;
let bundlePath: string | undefined;
let control: http.Server | undefined;
let logDir = '';
let resultsFile = '';
let secretsDir = '';

/**
 * `npm run test:chaos`: its own embedded Postgres and its own Temporal dev server (persisted to
 * a SQLite file, so a SIGKILLed server restarts with every workflow), never the `npm test`
 * ones. Test files run in forked processes, so they kill and restart these servers through a
 * small loopback control endpoint served from here, the process that owns them.
 */
export async function setup(project: TestProject): Promise<void> {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-chaos-logs-'));
  resultsFile = path.join(logDir, 'results.jsonl');
  secretsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-chaos-secrets-'));
  const serverLog = (name: string) => {
    const out = fs.createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
    return (line: string) => out.write(`${line}\n`);
  };
  const t0 = Date.now();
  try {
    [pg, temporal, bundlePath] = await startAllOrNothing<[RunningPostgres, RunningTemporal, string]>([
      { service: 'the embedded PostgreSQL', start: () => startPostgres({ log: serverLog('postgres') }), stop: (p) => p.stop() },
      {
        service: 'the Temporal dev server',
        start: () => startTemporal({ dbFilename: tempDbFilename(), log: serverLog('temporal-server'), logLevel: 'info' }),
        stop: (t) => t.stop(),
      },
      { service: 'the workflow bundle', start: () => bundleWorkflowsForTests(), stop: async (f) => fs.rmSync(f, { force: true }) },
    ]);
  } catch (err) {
    throw reportAsError(err, 'npm run test:chaos (global setup)');
  }
  if (!pg.embedded) throw new Error('the chaos suite restarts Postgres: unset DATABASE_URL so it starts an embedded server');

  const actions: Record<string, () => Promise<void>> = {
    'temporal-kill': () => temporal!.kill(),
    'temporal-restart': () => temporal!.restart(),
    'pg-halt': () => pg!.halt!(),
    'pg-resume': () => pg!.resume!(),
    'pg-restart': () => pg!.restart!(),
  };
  control = http.createServer((req, res) => {
    const action = actions[(req.url ?? '').replace(/^\//, '')];
    if (req.method !== 'POST' || !action) {
      res.writeHead(404).end(`actions: ${Object.keys(actions).join(', ')}`);
      return;
    }
    const started = Date.now();
    action().then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, ms: Date.now() - started })),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((r) => control!.listen(0, '127.0.0.1', r));

  project.provide('workflowBundlePath', bundlePath);
  project.provide('pgAdminUrl', pg.url);
  project.provide('pgPassword', pg.password);
  project.provide('temporalAddress', temporal.address);
  project.provide('temporalNamespace', temporal.namespace);
  project.provide('chaosControlUrl', `http://127.0.0.1:${(control.address() as AddressInfo).port}`);
  project.provide('chaosLogDir', logDir);
  project.provide('chaosResultsFile', resultsFile);
  project.provide('chaosSecretsFile', path.join(secretsDir, 'secrets.jsonl'));
  process.stdout.write(`[chaos] postgres on port ${pg.port}; temporal ${temporal.address} persisted to ${temporal.dbFilename}; logs in ${logDir} (${Date.now() - t0} ms)\n`);
}

export async function teardown(): Promise<void> {
  await new Promise((r) => (control ? control.close(r) : r(undefined)));
  await Promise.allSettled([temporal?.stop(), pg?.stop()]);
  if (bundlePath) fs.rmSync(bundlePath, { force: true });
  if (temporal?.dbFilename) fs.rmSync(path.dirname(temporal.dbFilename), { recursive: true, force: true });
  const lines = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean) : [];
  const rows = summarize(lines.map((l) => JSON.parse(l) as ScenarioResult));
  fs.writeFileSync(path.join(projectRoot, 'test/chaos/results.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), scenarios: rows }, null, 2)}\n`);
  process.stdout.write(`\n[chaos] reliability summary (test/chaos/results.json):\n\n${markdownTable(rows)}\n\n`);
  fs.rmSync(secretsDir, { recursive: true, force: true });
  if (process.env.CHAOS_KEEP_LOGS !== '1') fs.rmSync(logDir, { recursive: true, force: true });
}
