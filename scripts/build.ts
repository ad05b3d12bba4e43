/**
 * `npm run build`: compiles src/, workflows/ and activities/ to dist/ (tsconfig.build.json,
 * CommonJS), prebuilds the workflow bundle the worker loads (dist/workflow-bundle.js, Temporal's
 * bundleWorkflowCode over the compiled workflows/index.js) and records the version and commit
 * (dist/build-info.json: the worker's Worker Deployment build id). migrations/ stays where it is:
 * src/devenv/paths.ts finds it from the package root, in a clone and in an installed package.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot } from '../src/devenv/paths';
import { gitCommit, packageVersion } from '../src/build/build-info';

async function main(): Promise<void> {
  const dist = path.join(projectRoot, 'dist');
  const t0 = Date.now();
  fs.rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(projectRoot, 'tsconfig.build.json')], { stdio: 'inherit', cwd: projectRoot });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(dist, 'workflows', 'index.js'),
    logger: { trace() {}, debug() {}, info() {}, warn: (m: string) => console.warn(m), error: (m: string) => console.error(m), log() {} } as never,
  });
  fs.writeFileSync(path.join(dist, 'workflow-bundle.js'), code);
  const workflowBundleSha256 = crypto.createHash('sha256').update(code).digest('hex');
  const info = { version: packageVersion(), commit: process.env.LICHEN_BUILD_COMMIT || gitCommit(), workflowBundleSha256, builtAt: new Date().toISOString() };
  fs.writeFileSync(path.join(dist, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
  console.log(`dist/ built in ${Date.now() - t0} ms: ${info.version} (${info.commit}), workflow bundle ${(code.length / 1024).toFixed(0)} KiB`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
