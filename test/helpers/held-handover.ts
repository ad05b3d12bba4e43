import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { temporal as proto } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { projectRoot } from '../../src/devenv/paths';

/** The product's workflows with the held-hand-over interceptor (held-handover/interceptors.ts). */
export async function bundleWithHeldHandOvers(): Promise<{ codePath: string }> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(projectRoot, 'workflows', 'index.ts'),
    workflowInterceptorModules: [path.join(projectRoot, 'test', 'helpers', 'held-handover', 'interceptors.ts')],
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} } as never,
  });
  const dir = path.join(projectRoot, '.tmp');
  fs.mkdirSync(dir, { recursive: true });
  const codePath = path.join(dir, `workflow-bundle-held-${process.pid}.js`);
  fs.writeFileSync(codePath, code);
  return { codePath };
}

/** Waits until the server has admitted update `updateId` (no worker needs to be running). */
export async function updateAdmitted(client: Client, workflowId: string, updateId: string): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    try {
      await client.workflowService.pollWorkflowExecutionUpdate({
        namespace: client.options.namespace,
        updateRef: { workflowExecution: { workflowId }, updateId },
        identity: 'test',
        waitPolicy: { lifecycleStage: proto.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
      });
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
