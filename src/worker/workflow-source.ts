import fs from 'node:fs';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';

/**
 * Where the worker's workflow code comes from. Compiled (dist/src/worker/), the bundle `npm run
 * build` prebuilt next to it, dist/workflow-bundle.js, when it exists; otherwise the workflows
 * module beside this file (workflows/index.ts from source, dist/workflows/index.js compiled),
 * bundled in memory at start. From source the prebuilt path would be <root>/workflow-bundle.js,
 * which never exists: a clone's stale dist/ is never loaded by a worker run through tsx.
 */
export const PREBUILT_BUNDLE = path.resolve(__dirname, '..', '..', 'workflow-bundle.js');
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', '..', 'workflows', `index${path.extname(__filename)}`);

export interface WorkflowSource {
  options: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  /** For the start-up line: "prebuilt <path>" or "source <path> (bundled at start)". */
  describe: string;
}

export function workflowSource(given?: { codePath: string }): WorkflowSource {
  if (given) return { options: { workflowBundle: given }, describe: `prebuilt ${given.codePath}` };
  if (fs.existsSync(PREBUILT_BUNDLE)) return { options: { workflowBundle: { codePath: PREBUILT_BUNDLE } }, describe: `prebuilt ${PREBUILT_BUNDLE}` };
  return { options: { workflowsPath: WORKFLOWS_PATH }, describe: `source ${WORKFLOWS_PATH} (bundled at start)` };
}
