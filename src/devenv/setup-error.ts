/**
 * One way to report a failure to bring up the development services (PostgreSQL, the Temporal
 * dev server and CLI): `npm run dev`, `npm run demo`, the bench and the test harness all throw
 * a {@link SetupError} (or have an error classified into one by {@link toSetupError}) and print
 * it with {@link formatSetupError} — what failed, its cause, and the next step. Never a bare
 * `EACCES` or a stack trace.
 */
import { BinaryNotFoundError } from './temporal-cli';

export type SetupFailureKind = 'missing-binary' | 'permission' | 'port-in-use' | 'disk-full' | 'temporal-cli' | 'server' | 'unknown';

export class SetupError extends Error {
  constructor(
    /** The service that could not be brought up, e.g. "the embedded PostgreSQL". */
    readonly service: string,
    readonly kind: SetupFailureKind,
    message: string,
    /** What the user should do, in one or two sentences. */
    readonly nextStep: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SetupError';
  }
}

/** The way around a service that will not start here. */
function bypass(service: string): string {
  return /temporal/i.test(service) ? 'or set TEMPORAL_CLI_PATH to a working Temporal CLI' : 'or set DATABASE_URL to a PostgreSQL server of your own';
}

/** The errno-style code of `err` or of any error in its cause chain. */
function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Classifies any error thrown while starting `service` into a SetupError with a next step.
 * A SetupError is returned unchanged.
 */
export function toSetupError(err: unknown, service: string): SetupError {
  if (err instanceof SetupError) return err;
  if (err instanceof BinaryNotFoundError) {
    const lines = err.message.split('\n'); // the routes tried, then what to install
    const nextStep = lines.pop() ?? '';
    return new SetupError(service, 'temporal-cli', lines.join('\n'), nextStep, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = codeOf(err) ?? (/address already in use/i.test(message) ? 'EADDRINUSE' : /no space left on device/i.test(message) ? 'ENOSPC' : undefined);
  const path = (err as NodeJS.ErrnoException | undefined)?.path;
  switch (code) {
    case 'ENOENT':
      return new SetupError(service, 'missing-binary', message, `${path ?? 'a file it needs'} is missing: run \`npm ci\` again (it installs the binaries), ${bypass(service)}.`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new SetupError(
        service,
        'permission',
        message,
        `the server's user may not read or run ${path ?? 'a file it needs'}: move the project out of a private (0700) directory, ${bypass(service)}.`,
        { cause: err },
      );
    case 'EADDRINUSE':
      return new SetupError(service, 'port-in-use', message, 'a port it needs is taken: stop whatever listens there (ss -ltnp shows it) and run again.', { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
      return new SetupError(service, 'disk-full', message, 'the disk is full: free space (df -h shows where) and run again.', { cause: err });
    default:
      return new SetupError(service, 'unknown', message, `see the cause above; ${bypass(service)} to skip the embedded server.`, { cause: err });
  }
}

function causeLines(err: unknown): string[] {
  const lines: string[] = [];
  for (let e = (err as { cause?: unknown }).cause, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg) lines.push(`  cause: ${msg.split('\n').join('\n         ')}`);
  }
  return lines;
}

/** The one message printed for a setup failure: `<context>: could not start <service>: …`, its causes and the next step. */
export function formatSetupError(err: unknown, context: string, service = 'the development services'): string {
  const e = toSetupError(err, service);
  return [`${context}: could not start ${e.service}: ${e.message}`, ...causeLines(e).filter((l) => !l.endsWith(`: ${e.message}`)), `  next step: ${e.nextStep}`, ''].join('\n');
}

/** Wraps a start-up promise so that whatever it throws is a SetupError for `service`. */
export async function settingUp<T>(service: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    throw toSetupError(err, service);
  }
}

/** An Error whose message and stack are exactly the formatted report: test runners print it as it is. */
export function reportAsError(err: unknown, context: string, service?: string): Error {
  const text = formatSetupError(err, context, service).trimEnd();
  const e = new Error(text); // no cause: the report already names it, and runners would print its stack
  e.name = 'SetupError';
  e.stack = text;
  return e;
}

/**
 * Starts services concurrently. When any fails, the ones that did start are stopped and one
 * SetupError (the first failure) is thrown. While it runs, an uncaught exception (a child
 * process's unhandled `error` event, say) fails the start-up instead of killing the process —
 * vitest's own `exit` listener calls process.exit() before Node could print such an error.
 */
export async function startAllOrNothing<T extends readonly unknown[]>(
  starts: { [K in keyof T]: { service: string; start: () => Promise<T[K]>; stop: (v: T[K]) => Promise<unknown> } },
): Promise<T> {
  let onUncaught: ((err: Error) => void) | undefined;
  const uncaught = new Promise<never>((_, reject) => {
    onUncaught = (err) => reject(toSetupError(err, 'the development services'));
    process.on('uncaughtException', onUncaught);
  });
  uncaught.catch(() => undefined);
  try {
    const results = await Promise.race([Promise.allSettled(starts.map((s) => settingUp(s.service, s.start))), uncaught]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(results.map((r, i) => (r.status === 'fulfilled' ? starts[i].stop(r.value as never) : undefined)));
      throw failed.reason as SetupError;
    }
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
  } finally {
    if (onUncaught) process.off('uncaughtException', onUncaught);
  }
}
