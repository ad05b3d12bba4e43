import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { projectRoot } from '../../src/devenv/paths';

/** Bundles workflows/index.ts once per test run; workers load it with `workflowBundle: { codePath }`. */
export async function bundleWorkflowsForTests(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'workflows', 'index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
  });
  const dir = path.join(projectRoot, '.tmp');
  fs.mkdirSync(dir, { recursive: true });
  const codePath = path.join(dir, `workflow-bundle-${process.pid}.js`);
  fs.writeFileSync(codePath, code);
  return codePath;
}
