import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { startDemoStack, type DemoStack } from '../../src/demo/stack';
import { UI_APPROVAL, UI_START_INPUT } from '../../src/demo/inputs';
import { uiServesRun } from '../../src/demo/ui-check';
import { statusQuery } from '../../workflows/messages';
import type { ProductionCutoverResult } from '../../workflows/production';
import type { RunStatus } from '../../workflows/types';
import { buildAuditReport } from '../../src/audit/report';
import { verdictPasses } from '../../src/loadgen/oracle';
import type { LoadHandle } from '../../src/loadgen/generator';
import { launchChromium, screenshotter } from './browser';

/**
 * The operator's path through the Temporal Web UI, in a real browser: start a production
 * cutover from the Start Workflow form with pasted JSON, approve the final cutover from the
 * "Send an Update" dialog, and watch the run reach Completed. Everything underneath is real:
 * embedded Postgres, the Temporal dev server and its UI, two memory-layer instances under
 * load, and a worker with the real activities.
 */

try {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
} catch {
  // already installed in this process
}

const STEP_TIMEOUT = 60_000;
let stack: DemoStack;
let load: LoadHandle;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startDemoStack({ seedRecords: 1500, seedMonths: 4, taskQueue: 'lichen-e2e' });
  load = stack.startLoad(50);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(STEP_TIMEOUT);
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await load?.stop().catch(() => undefined);
  await stack?.stop();
});

async function waitForState(workflowId: string, want: RunStatus['state'], timeoutMs: number): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RunStatus | undefined;
  while (Date.now() < deadline) {
    last = await stack.client.workflow.getHandle(workflowId).query(statusQuery).catch(() => last);
    if (last?.state === want) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`run ${workflowId} did not reach state ${want} within ${timeoutMs} ms; last status: ${JSON.stringify(last && { phase: last.phase, state: last.state })}`);
}

describe('the Temporal Web UI drives a production cutover', () => {
  it('starts it from the Start Workflow form, approves it from the UI, and shows it Completed', async () => {
    const workflowId = `cutover-e2e-${Date.now()}`;
    const shot = screenshotter(page, 'ui-cutover');
    const ns = stack.namespace;

    // 1. The Start Workflow form, filled the way the README tells an operator to.
    await page.goto(`${stack.uiUrl}/namespaces/${ns}/workflows/start-workflow`);
    await page.getByRole('heading', { name: 'Start Workflow' }).waitFor();
    await page.getByLabel('Workflow ID').fill(workflowId);
    await page.getByLabel('Task Queue').fill(stack.taskQueue);
    await page.getByLabel('Workflow Type').fill('productionCutover');
    // The UI looks the task queue up: our worker must be seen polling it.
    await page.getByText('Task Queue is Active').waitFor();
    const data = page.getByRole('textbox', { name: 'Data' });
    await data.click();
    await page.keyboard.insertText(JSON.stringify(UI_START_INPUT, null, 2));
    // Leave the editor, so the form takes its value before the button is pressed.
    await page.getByText('Single JSON payload supported.').click();
    await shot('start-form-filled');
    const start = page.getByRole('button', { name: 'Start Workflow' });
    expect(await start.isEnabled()).toBe(true);
    await start.click();
    // The toast links to the new run.
    const toast = page.getByRole('link', { name: 'Workflow started successfully' });
    await toast.waitFor();
    await shot('started');

    // The run the UI started is ours: the type and the pasted input arrived intact.
    const description = await stack.client.workflow.getHandle(workflowId).describe();
    expect(description.type).toBe('productionCutover');
    expect(description.taskQueue).toBe(stack.taskQueue);

    // 2. The run's page (through the toast's link) while it waits at the final-cutover gate.
    await toast.click();
    await page.waitForURL(new RegExp(`/workflows/${workflowId}/`));
    await page.getByRole('heading', { name: workflowId }).waitFor();
    const waiting = await waitForState(workflowId, 'waiting-for-approval', 120_000);
    expect(waiting.waitingOn).toMatch(/final-cutover/);
    await page.reload();
    await page.getByRole('heading', { name: workflowId }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Running', visible: true }).first().waitFor();
    await shot('waiting-for-approval');

    // 3. Approve from the UI: More Actions → Send an Update → approve, with operator and reason.
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByRole('menuitem', { name: 'Send an Update' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send an Update' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Select an Update' }).click();
    // The workflow registers descriptions for its messages, so the UI lists them by name.
    const approve = dialog.getByRole('option', { name: /^approve/ });
    await approve.waitFor();
    const listed = (await dialog.getByRole('option').allInnerTexts()).map((o) => o.trim().split('\n')[0].trim());
    expect(listed).toEqual(expect.arrayContaining(['approve', 'pause', 'resume', 'abort', 'extend']));
    await shot('update-list');
    await approve.click();
    await dialog.getByRole('textbox', { name: 'Data' }).click();
    await page.keyboard.insertText(JSON.stringify(UI_APPROVAL));
    await dialog.getByText('Update ID (optional)').click();
    await shot('approve-update-filled');
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await shot('approve-sent');

    // 4. The run completes, and the UI says so.
    const result = (await stack.client.workflow.getHandle(workflowId).result()) as ProductionCutoverResult;
    expect(result.outcome).toBe('completed');
    expect(result.finalMode).toEqual({ persistence: 'postgres', primary: 'postgres', failFast: false, dualWriteEnabled: false });
    await page.reload();
    // The status badge at the top of the run's page (role "status").
    await page.getByRole('status').filter({ hasText: 'Completed', visible: true }).first().waitFor();
    await shot('completed');

    // The approval is in the history, with the operator and reason typed into the UI.
    const report = buildAuditReport(await stack.client.workflow.getHandle(workflowId).fetchHistory(), { workflowId });
    const approvals = report.decisions.filter((d) => d.action === 'approve');
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({ operator: UI_APPROVAL.operator, reason: UI_APPROVAL.reason, via: 'update', accepted: true });
    expect(result.decisions.map((d) => [d.action, d.operator, d.reason])).toEqual([['approve', UI_APPROVAL.operator, UI_APPROVAL.reason]]);

    // The UI's API proxy serves the finished run too (what `npm run demo` checks over HTTP).
    const ui = await uiServesRun(stack.uiUrl, ns, workflowId);
    expect(ui).toMatchObject({ ok: true, executionStatus: 'WORKFLOW_EXECUTION_STATUS_COMPLETED' });

    // And nothing the load wrote was lost on the way to Postgres.
    const verdict = await stack.oracleAgainstPostgres(await load.stop());
    expect(verdict.checked).toBeGreaterThan(1500);
    expect(verdictPasses(verdict)).toBe(true);
  });
});
