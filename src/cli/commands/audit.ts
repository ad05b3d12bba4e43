import { buildAuditReport, renderJson, renderMarkdown } from '../../audit/report';
import { fetchRunChain } from '../../audit/chain';
import { getCutoverHandle } from '../../client';
import { positionals, str } from '../args';
import { UsageError } from '../exit-codes';
import type { Command } from '../command';

export const audit: Command = {
  name: 'audit',
  summary: "a run's audit report from its history (markdown or JSON)",
  usage: `usage: cutover audit <workflowId> [--format md|json]

The timeline of phases with durations, operator decisions (identity, reason, time), parity per
month, health checks, rollbacks with their causes, and the final state — from the history
(every run of the chain, when a long run continued as new: read as one run).
--json is the same as --format json.`,
  options: { format: { type: 'string' } },
  async run({ io, args, client }) {
    const [id] = positionals('audit', args, ['workflowId']);
    const format = str(args, 'format') ?? (io.json ? 'json' : 'md');
    if (format !== 'md' && format !== 'json') throw new UsageError(`audit: --format must be md or json, got ${JSON.stringify(format)}`);
    const c = await client();
    const h = getCutoverHandle(c, id);
    const d = await h.describe();
    // Every run of the chain (a long run continues as new): the report reads them as one.
    const history = await fetchRunChain(c.workflow, id, d.runId);
    // A run in progress has no result yet: its status query supplies phases and rollbacks.
    const status = d.status.name === 'RUNNING' ? await h.status().catch(() => undefined) : undefined;
    const report = buildAuditReport(history, { workflowId: id, status });
    if (io.json) io.result(report);
    else io.result(report, format === 'json' ? renderJson(report) : renderMarkdown(report));
    return 0;
  },
};
