import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import type { MemberNote } from '../../activities/production/membership';
import { forgetInstanceUpdate, validateOperatorAction, type AckResult } from '../messages';
import { describeFailure } from '../common/failures';
import { membershipOf, short, type ProductionRun } from './run';
import { verifyAndRepair } from './reconcile';

/**
 * Membership is part of the run (issue 11). The fleet is every instance registered for the
 * target and not cleanly stopped (src/memory-layer/fleet.ts), not only those that answered at
 * preflight: a member frozen across preflight (SIGSTOP, a long GC pause) or started later may
 * hold acknowledged records nobody has read.
 *
 * Before the primary is switched and before the final cutover the run looks at the fleet
 * again: a member it has not read yet is added to the run's instances and its records are
 * back-filled and verified (verify every month, repair Postgres from memory). Before the final
 * cutover — after which memory is no longer kept — every member must also have acknowledged
 * the run's latest epoch; a silent or lagging member makes the run wait for an operator, who
 * brings it back (it is back-filled when it answers) or declares it gone with `forgetInstance`.
 */
export async function checkFleet(run: ProductionRun, before: 'switch of the primary' | 'final cutover'): Promise<void> {
  const { ctl } = run;
  for (;;) {
    const f = await short.fleetCheck({ ...run.common, apps: run.input.apps, epoch: run.epoch });
    const known = new Set(run.instances.map((i) => i.instanceId));
    const joined = f.reachable.filter((i) => !known.has(i.instanceId));
    if (joined.length) {
      run.instances = [...run.instances, ...joined].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
      for (const j of joined) membershipOf(run).joined.push({ instanceId: j.instanceId, before });
      ctl.note(`${joined.map((j) => j.instanceId).join(', ')} joined the run after preflight: back-filling and verifying their records before the ${before}`);
      await ctl.phase(`back-fill joined instances before the ${before}`, () => verifyAndRepair(run));
      continue; // look again: another may have joined (or left) meanwhile
    }
    const blocking = before === 'final cutover' ? unique([...f.silent, ...f.lagging]) : [];
    if (f.silent.length && !blocking.length) {
      ctl.note(`silent fleet member(s) before the ${before}: ${f.silent.map(describeMember).join('; ')}; they are back-filled if they answer before the final cutover`);
    }
    if (!blocking.length) return;
    await ctl.waitForOperator(
      `the ${before} is refused while fleet members have not acknowledged epoch ${run.epoch}: ${blocking.map(describeMember).join('; ')}. ` +
        'Bring each back (it is back-filled and verified when it answers) or declare it gone with the forgetInstance update (its memory-only records are given up), then resume with decision "retry"',
    );
  }
}

function unique(ms: MemberNote[]): MemberNote[] {
  const seen = new Set<string>();
  return ms.filter((m) => !seen.has(m.instanceId) && seen.add(m.instanceId));
}

function describeMember(m: MemberNote): string {
  return `${m.instanceId} (last heartbeat ${m.lastHeartbeat || 'never'}, applied epoch ${m.appliedEpoch}${m.live ? '' : ', silent'}${m.error ? `: ${m.error}` : ''})`;
}

const INSTANCE_ID = /^[\p{L}\p{N}._:@/-]{1,200}$/u;

/**
 * The `forgetInstance` update: an operator declares a silent member gone (recorded in the
 * history, the run's decisions and the audit report). The activity refuses a live, unknown or
 * cleanly stopped instance, naming it; the run then stops waiting for it.
 */
export function installForgetInstance(run: ProductionRun): void {
  setHandler(forgetInstanceUpdate, async (a): Promise<AckResult> => {
    const instanceId = a.instanceId.trim();
    let r;
    try {
      r = await short.forgetInstance({ ...run.common, instanceId, operator: a.operator.trim(), reason: a.reason.trim() });
    } catch (err) {
      throw ApplicationFailure.nonRetryable(`forgetInstance ${instanceId}: ${describeFailure(err)}`, 'ForgetRefused');
    }
    const detail = `instance ${instanceId} declared gone (last heartbeat ${r.lastHeartbeat}, applied epoch ${r.appliedEpoch}); its memory-only records are given up`;
    run.ctl.recordDecision('forget-instance', a, { detail });
    membershipOf(run).forgotten.push({ instanceId, operator: a.operator.trim(), reason: a.reason.trim(), lastHeartbeat: r.lastHeartbeat, appliedEpoch: r.appliedEpoch });
    run.instances = run.instances.filter((i) => i.instanceId !== instanceId);
    run.ctl.note(detail);
    return { accepted: true, phase: run.ctl.status.phase, message: `${detail}${r.already ? ' (it had already been forgotten)' : ''}` };
  }, {
    description: 'Declare a silent fleet member gone: {"operator": "...", "reason": "...", "instanceId": "..."}. Refused for a live, unknown or cleanly stopped instance. Its memory-only records are given up.',
    validator: (a) => {
      validateOperatorAction(a);
      if (typeof a.instanceId !== 'string' || !INSTANCE_ID.test(a.instanceId.trim())) throw new Error('instanceId: required, the id of a fleet member (cutover status and the run\'s notes name them)');
      if (['completed', 'rolled-back', 'aborted', 'failed'].includes(run.ctl.status.state)) throw new Error(`the run has ended (${run.ctl.status.state})`);
    },
  });
}
