import { getCutoverHandle, type OperatorActionName } from '../../client';
import { num, positionals, requireStr, str } from '../args';
import { UsageError } from '../exit-codes';
import type { Command } from '../command';

const EXTRA: Record<OperatorActionName, string> = {
  approve: ' [--gate GATE]',
  pause: '',
  resume: ' [--decision retry|continue]',
  abort: '',
  extend: ' --minutes N',
  forget: ' --instance INSTANCE_ID',
};
const WHAT: Record<OperatorActionName, string> = {
  approve: 'approve the open gate (or --gate)',
  pause: 'pause a run before its next phase',
  resume: 'resume a paused run, or answer a run waiting for an operator',
  abort: 'abort a run: completed steps are compensated in reverse order',
  extend: 'extend the monitoring or retention window',
  forget: 'declare a silent app instance gone (production cutover): the run stops waiting for it and its memory-only records are given up',
};

/** approve / pause / resume / abort / extend: an update carrying the operator and a reason. */
function actionCommand(action: OperatorActionName): Command {
  return {
    name: action,
    summary: WHAT[action],
    usage: `usage: cutover ${action} <workflowId> --operator NAME --reason TEXT${EXTRA[action]}

${WHAT[action][0].toUpperCase()}${WHAT[action].slice(1)}. The operator and the reason are recorded in the
workflow history for auditors; both are required.
Exit status: 0 accepted, 2 usage error, 3 not found, 4 rejected by the workflow (its reason is printed).`,
    options: {
      operator: { type: 'string' },
      reason: { type: 'string' },
      ...(action === 'approve' ? { gate: { type: 'string' } } : {}),
      ...(action === 'resume' ? { decision: { type: 'string' } } : {}),
      ...(action === 'extend' ? { minutes: { type: 'string' } } : {}),
      ...(action === 'forget' ? { instance: { type: 'string' } } : {}),
    },
    async run({ io, args, client }) {
      const [id] = positionals(action, args, ['workflowId']);
      const operator = requireStr(action, args, 'operator', 'who acts; recorded in the history');
      const reason = requireStr(action, args, 'reason', 'why; recorded in the history');
      const base = { operator, reason };
      const h = getCutoverHandle(await client(), id);
      let ack;
      if (action === 'approve') ack = await h.approve({ ...base, gate: str(args, 'gate') });
      else if (action === 'pause') ack = await h.pause(base);
      else if (action === 'abort') ack = await h.abort(base);
      else if (action === 'forget') ack = await h.forgetInstance({ ...base, instanceId: requireStr(action, args, 'instance', 'the id of the silent fleet member (the run\'s notes and waiting text name it)') });
      else if (action === 'resume') {
        const decision = str(args, 'decision');
        if (decision !== undefined && decision !== 'retry' && decision !== 'continue') throw new UsageError(`resume: --decision must be retry or continue, got ${JSON.stringify(decision)}`);
        ack = await h.resume({ ...base, decision });
      } else {
        const minutes = num('extend', args, 'minutes', { min: 1, max: 10080, integer: true });
        if (minutes === undefined) throw new UsageError('extend: --minutes is required (an integer from 1 to 10080)');
        ack = await h.extend({ ...base, minutes });
      }
      io.result({ workflowId: id, action, ...ack }, `${action} accepted by ${id} (phase ${ack.phase}): ${ack.message}`);
      return 0;
    },
  };
}

export const actions: Command[] = (['approve', 'pause', 'resume', 'abort', 'extend', 'forget'] as const).map(actionCommand);
