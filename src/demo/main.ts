/**
 * `npm run demo`: one production cutover from start to finish on this machine, with nothing to
 * install or configure — see DEMO_USAGE in ./args.ts.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { startProductionCutover } from '../client/start';
import { formatVerdict, verdictPasses, type OracleVerdict } from '../loadgen/oracle';
import { OpLog } from '../loadgen/oplog';
import type { ProductionCutoverResult } from '../../workflows/production';
import { DEMO_USAGE, DemoUsageError, parseDemoArgs, type DemoArgs } from './args';
import { demoInput } from './inputs';
import { startProgress } from './progress';
import { takeOverTerminationSignals } from './signals';
import { startDemoStack, type DemoStack } from './stack';
import { runConvertDemo } from './convert';
import { rowVerdictPasses } from '../loadgen/sql/row-oracle';
import { auditSummary } from './summary';
import { uiServesRun, waitForUi } from './ui-check';
import { formatSetupError, SetupError } from '../devenv/setup-error';

/** The whole run is abandoned past this: a demo that hangs helps nobody. */
const RUN_DEADLINE_MS = 8 * 60_000;

interface Outcome {
  workflowId?: string;
  status: string;
  uiUrl?: string;
  oracle?: OracleVerdict;
}

class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

async function main(): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof DemoUsageError) {
      process.stderr.write(`demo: ${err.message}\n\n${DEMO_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    out(DEMO_USAGE);
    return 0;
  }

  // The worker's own logs: warnings and errors only (its INFO lines would bury the progress).
  // No shutdown signals for the SDK: the demo stops the worker itself, in order.
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });

  const t0 = Date.now();
  const result: Outcome = { status: 'not-started' };
  let stack: DemoStack | undefined;
  let interrupt!: (e: Interrupted) => void;
  const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
  interrupted.catch(() => undefined);
  let signalled: NodeJS.Signals | undefined;
  let signalledAt = 0;
  const startup = new AbortController();
  await takeOverTerminationSignals((signal) => {
    // A terminal's Ctrl-C can arrive twice within a moment (npm relays what the terminal
    // already sent to the whole group): only a second press counts as "exit at once".
    if (signalled && Date.now() - signalledAt < 1_000) return;
    if (signalled) {
      process.stderr.write(`\n${signal} again: exiting without waiting for the rest to stop\n`);
      process.exit(130);
    }
    signalled = signal;
    signalledAt = Date.now();
    startup.abort();
    process.stderr.write(`\n${signal}: stopping everything (press Ctrl-C again to exit at once)…\n`);
    interrupt(new Interrupted(signal));
  });
  // Last resort: an error nothing caught must not leave the servers running behind us.
  process.on('uncaughtException', (err) => {
    const text = err instanceof SetupError ? formatSetupError(err, 'npm run demo') : `demo: unexpected error: ${err.stack ?? String(err)}\n`;
    process.stderr.write(`${text}stopping everything…\n`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
  });
  /** Races `p` against a signal, so Ctrl-C during any step goes straight to the teardown. */
  const step = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => undefined); // when the signal wins the race, p's later failure is moot
    return Promise.race([p, interrupted]);
  };

  let code = 1;
  try {
    // Not raced against the signal: on Ctrl-C the start-up stops at its next step and stops
    // what it had started itself.
    stack = await startDemoStack({
      signal: startup.signal,
      // The conversion demo needs no memory-layer instances: its table is written by plain SQL.
      ...(args.convert ? { instances: 0, seedRecords: 0 } : {}),
      seedRecords: args.records,
      seedMonths: args.months,
      say: (l) => out(`[${elapsed(t0)}] ${l}`),
      onUi: async (uiUrl) => {
        await waitForUi(uiUrl);
        result.uiUrl = uiUrl;
        out('');
        out(`Temporal Web UI: ${uiUrl}   (answers HTTP 200)`);
        out('');
      },
    }).catch((err: unknown) => {
      if (signalled) throw new Interrupted(signalled);
      throw err;
    });

    if (args.convert) {
      const r = await step(runConvertDemo({ stack, client: stack.client, rate: args.rate, say: (l) => out(`[${elapsed(t0)}] ${l}`), out }));
      result.workflowId = r.workflowId;
      result.status = r.status;
      result.oracle = { checked: r.oracle.checked, missing: r.oracle.missing, stale: r.oracle.stale, resurrected: r.oracle.resurrected, extra: r.oracle.extra } as OracleVerdict;
      const ui = await step(uiServesRun(stack.uiUrl, stack.namespace, r.workflowId));
      out(ui.ok ? `Temporal Web UI served the run: GET ${ui.url} → 200 (${ui.executionStatus})` : `Temporal Web UI did NOT serve the run: GET ${ui.url} → ${ui.httpStatus ?? ui.error}`);
      code = r.status === 'completed' && rowVerdictPasses(r.oracle) ? 0 : 1;
      if (args.keep) {
        out('--keep: everything stays up. Ctrl-C stops it.');
        for (const l of stack.describe()) out(`  ${l}`);
        await interrupted.catch(() => undefined);
      }
    } else {
      const load = args.rate > 0 ? stack.startLoad(args.rate) : undefined;
      if (load) out(`[${elapsed(t0)}] load generator: ${args.rate} ops/s through ${stack.apps.length} instances (creates, updates, deletes)`);

      const workflowId = `cutover-demo-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
      const { client, taskQueue } = stack;
      const handle = await step(stack.call(() => startProductionCutover(client, demoInput(args.windowMinutes), { taskQueue, workflowId })));
      result.workflowId = workflowId;
      result.status = 'running';
      out(`[${elapsed(t0)}] started productionCutover ${workflowId}`);
      out(`             watch it: ${stack.uiUrl}/namespaces/${stack.namespace}/workflows/${workflowId}`);
      out('');

      const progress = startProgress({ handle, load, tty: Boolean(process.stdout.isTTY) && !args.json, write: (t) => process.stdout.write(t) });
      let runResult: ProductionCutoverResult | undefined;
      try {
        const deadline = new Promise<never>((_, reject) => {
          const t = setTimeout(() => reject(new Error(`the run did not finish within ${RUN_DEADLINE_MS / 60_000} minutes`)), RUN_DEADLINE_MS);
          t.unref();
        });
        // A worker crash ends the wait too: otherwise the demo would sit there until the deadline.
        const workerDied = stack.workerRun.then(() => Promise.reject(new Error('the worker stopped before the run finished')));
        workerDied.catch(() => undefined);
        runResult = await step(Promise.race([stack.call(() => handle.result()), deadline, workerDied]));
        result.status = runResult.outcome;
      } catch (err) {
        if (err instanceof Interrupted) throw err;
        result.status = err instanceof WorkflowFailedError ? 'failed' : 'error';
        process.stderr.write(`the run did not complete: ${(err as Error).message}\n`);
      } finally {
        await progress.stop();
      }
      out('');
      out(`[${elapsed(t0)}] run ${workflowId}: ${result.status}`);

      // The oracle judges Postgres against every acknowledged write: the load must be quiet first.
      if (load) {
        await step(load.stop());
        const s = load.stats();
        out(`[${elapsed(t0)}] load stopped: ${s.acked} operations acknowledged, ${s.failed} failed`);
      }

      if (result.workflowId) {
        const summary = await step(stack.call(() => auditSummary(handle))).catch((err: unknown) => {
          if (err instanceof Interrupted) throw err;
          return { text: `(audit report unavailable: ${(err as Error).message})` };
        });
        out('');
        out(summary.text);
      }

      const verdict = await step(stack.oracleAgainstPostgres(load ? load.log : new OpLog()));
      result.oracle = verdict;
      out(formatVerdict(verdict));

      const ui = await step(uiServesRun(stack.uiUrl, stack.namespace, workflowId));
      out(
        ui.ok
          ? `Temporal Web UI served the run: GET ${ui.url} → 200 (${ui.executionStatus})`
          : `Temporal Web UI did NOT serve the run: GET ${ui.url} → ${ui.httpStatus ?? ui.error}`,
      );
      code = result.status === 'completed' && verdictPasses(verdict) ? 0 : 1;

      if (args.keep) {
        out('');
        out('--keep: everything stays up (the load generator has stopped, for the oracle):');
        for (const l of stack.describe()) out(`  ${l}`);
        out(`  the run:           ${stack.uiUrl}/namespaces/${stack.namespace}/workflows/${workflowId}`);
        out(`  the CLI:           TEMPORAL_ADDRESS=${stack.temporal.address} npm run cutover -- status ${workflowId}`);
        out('Ctrl-C stops everything.');
        await interrupted.catch(() => undefined);
      }
    }
  } catch (err) {
    if (err instanceof Interrupted) {
      if (result.status === 'running' || result.status === 'not-started') result.status = 'interrupted';
      code = 130;
    } else if (err instanceof SetupError) {
      process.stderr.write(formatSetupError(err, 'npm run demo'));
      result.status = 'error';
      code = 1;
    } else {
      process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
      if (result.status === 'running' || result.status === 'not-started') result.status = 'error';
      code = 1;
    }
  } finally {
    if (stack) {
      process.stderr.write(`[${elapsed(t0)}] stopping the worker, the instances, the Temporal dev server and PostgreSQL…\n`);
      await stack.stop();
      process.stderr.write(`[${elapsed(t0)}] stopped.\n`);
    }
  }
  if (signalled && !args.keep) code = 130;
  if (args.json) {
    const o = result.oracle;
    out(
      JSON.stringify({
        workflowId: result.workflowId ?? null,
        status: result.status,
        uiUrl: result.uiUrl ?? null,
        oracle: o ? { checked: o.checked, missing: o.missing, stale: o.stale, resurrected: o.resurrected, extra: o.extra } : null,
      }),
    );
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
