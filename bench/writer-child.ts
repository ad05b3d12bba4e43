/**
 * The app writer in a process of its own (B8): a PacedWriter at BENCH_WRITER = {"url","rate"},
 * so that the worker's CPU in the bench process (workflow tasks, activities) never shows as app
 * write latency. Prints "ready" once writing; on "stop" (stdin) it stops, prints its samples as
 * one JSON line (times in epoch ms) and exits.
 */
import readline from 'node:readline';
import { PacedWriter } from './writer';

async function main(): Promise<void> {
  const raw = process.env.BENCH_WRITER;
  if (!raw) throw new Error('BENCH_WRITER (JSON: url, rate) is required');
  const { url, rate } = JSON.parse(raw) as { url: string; rate: number };
  const writer = new PacedWriter(url, rate);
  writer.start();
  process.stdout.write('ready\n');
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() !== 'stop') continue;
    await writer.stop();
    const t0 = performance.timeOrigin;
    const json = JSON.stringify(writer.samples.map((s) => ({ ...s, start: t0 + s.start, end: t0 + s.end }))) + '\n';
    // A pipe is written asynchronously: exit only once all of it is out.
    await new Promise<void>((resolve) => process.stdout.write(json, () => resolve()));
    return;
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
