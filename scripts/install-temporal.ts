/**
 * Resolves (and installs into the project cache when needed) the Temporal CLI and the
 * time-skipping test server, printing where each came from. Used by .ci/run and handy on a
 * fresh machine; the test setup resolves them the same way on its own.
 */
import { resolveTemporalCli, resolveTimeSkippingServer } from '../src/devenv/temporal-cli';

async function main(): Promise<void> {
  const cli = await resolveTemporalCli();
  process.stdout.write(`temporal CLI: ${cli.path} (via ${cli.route})\n`);
  const ts = await resolveTimeSkippingServer();
  process.stdout.write(`time-skipping test server: ${ts.path} (via ${ts.route})\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
