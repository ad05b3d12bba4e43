import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli';
import { projectRoot } from '../../src/devenv/paths';

describe('cutover CLI: usage errors and migration gates (no services needed)', () => {
  it('exits 2 with the command list when no command or an unknown one is given', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('usage: cutover <command>');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('check-migrations');
  });

  it('exits 2 naming the missing operator action fields, the unknown option and the bad kind', async () => {
    const noReason = await runCli(['approve', 'wf-1', '--operator', 'alice']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');
    const unknownOpt = await runCli(['abort', 'wf-1', '--operator', 'a', '--reason', 'because', '--force']);
    expect(unknownOpt.code).toBe(2);
    expect(unknownOpt.stderr).toMatch(/Unknown option '--force'.*allowed options: --operator, --reason/);
    const kind = await runCli(['start', 'staging']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('unknown kind "staging"; allowed: production, conversion, maintenance');
    const syncElsewhere = await runCli(['start', 'production', '--sync', 'app-dual-write']);
    expect(syncElsewhere.code).toBe(2);
    expect(syncElsewhere.stderr).toContain('--sync applies to conversion only');
    // Validated with the input, before connecting (no server at this address).
    const badSync = await runCli(['start', 'conversion', '--sync', 'logical'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(badSync.code).toBe(2);
    expect(badSync.stderr).toContain(`sync: must be one of "trigger", "app-dual-write"`);
  });

  it('rejects an invalid input locally, naming the field, in one JSON document with --json', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-cli-'));
    try {
      const file = path.join(dir, 'input.json');
      fs.writeFileSync(file, JSON.stringify({ monitoring: { windowMinutes: 30 } }));
      // No Temporal server is reachable at this address: validation must fail before connecting.
      const r = await runCli(['start', 'production', '--input', file, '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
      expect(r.code).toBe(2);
      const doc = r.json<{ error: { message: string; exitCode: number } }>();
      expect(doc.error.exitCode).toBe(2);
      expect(doc.error.message).toContain('monitoring.windowMinutes');
      // A conversion of any table (an input with `table`) is read by its own rules: a bad interval is named, nothing is sent.
      fs.writeFileSync(file, JSON.stringify({ table: 'shop.orders', partitionBy: { column: 'placed_at', interval: 'fortnight' } }));
      const g = await runCli(['start', 'conversion', '--input', file, '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
      expect(g.code).toBe(2);
      expect(g.json<{ error: { message: string } }>().error.message).toMatch(/partitionBy\.interval/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('check-migrations exits 0 on the project migrations, 1 on findings, 2 on a missing folder', async () => {
    const clean = await runCli(['check-migrations']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('no findings');
    const bad = await runCli(['check-migrations', '--json', path.join(projectRoot, 'test/fixtures/gates/destructive')]);
    expect(bad.code).toBe(1);
    const findings = bad.json<{ rule: string }[]>();
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.rule === 'destructive-sql' || f.rule === 'parse-error')).toBe(true);
    const missing = await runCli(['check-migrations', path.join(projectRoot, 'no-such-folder')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');
  });
});
