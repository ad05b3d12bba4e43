import type { WorkflowHandle } from '@temporalio/client';
import { buildAuditReport, renderMarkdown, type AuditReport } from '../audit/report';
import { fetchRunChain } from '../audit/chain';

/**
 * The audit summary the demo ends with: the audit report (src/audit) built from the run's
 * history, without its per-activity table, which is summarised in one line instead (the full
 * report: `npm run cutover -- audit <workflowId>`).
 */
export async function auditSummary(handle: WorkflowHandle): Promise<{ report: AuditReport; text: string }> {
  const history = await fetchRunChain(handle.client, handle.workflowId);
  const report = buildAuditReport(history, { workflowId: handle.workflowId });
  const md = renderMarkdown(report);
  const cut = md.indexOf('## Activity timeline');
  const body = (cut >= 0 ? md.slice(0, cut) : md).trimEnd();
  const retried = report.activities.filter((a) => a.attempts > 1).length;
  const failed = report.activities.filter((a) => a.outcome !== 'completed').length;
  const line = `## Activities\n\n${report.activities.length} activity calls, ${retried} retried, ${failed} not completed.`;
  return { report, text: `${body}\n\n${line}\n` };
}
