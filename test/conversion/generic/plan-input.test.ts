import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { runCli } from '../../cli/run-cli';
import type { ConversionPlan } from '../../../activities/conversion/plan/plan';
import { parseGenericConversionInput } from '../../../workflows/conversion/generic-input';
import { APP_ROLE_SQL } from './shapes';
import { seedHeap } from '../harness';

const db = useTestDatabase();
const heap = useTestDatabase('heap');
const app = `app_${process.pid}`;
const env = () => ({ LICHEN_DB_PROFILE_TEST: db.url });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-input-'));
const inputFile = (name: string, input: object) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, JSON.stringify(input));
  return f;
};
/** The start input of a run converting shop.receipts (a unique key without the partition column: a blocker unless extended). */
const START = {
  table: 'shop.receipts', partitionBy: { column: 'paid_at', interval: 'month' }, mode: 'copy',
  options: { uniqueKeys: { receipts_number_key: 'extend' }, premake: 2 },
  connectionProfile: 'test', retentionMinutes: 1440, copy: { batchSize: 500, maxReplicaLagMs: 5000 }, approvals: { beforeSwap: true },
};

describe('cutover plan conversion --input: the run\'s own start input, checked by the workflow\'s parser', () => {
  it('plans what the start input would run, the flags adding to it; refuses what the run would refuse, naming the field', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(`CREATE SCHEMA shop;
      CREATE TABLE shop.receipts (id bigserial PRIMARY KEY, number text NOT NULL, paid_at timestamptz NOT NULL, amount numeric(12,2) NOT NULL);
      CREATE UNIQUE INDEX receipts_number_key ON shop.receipts (number);
      INSERT INTO shop.receipts (number, paid_at, amount) SELECT 'R' || g, now() - g * interval '9 hours', g FROM generate_series(1, 200) g;`);

    // The whole start input (copy, approvals, retention… included) is accepted; its options are the plan's.
    const ok = await runCli(['plan', 'conversion', '--input', inputFile('start.json', START), '--json'], env());
    expect(ok.code, ok.stderr).toBe(0);
    const p = ok.json<ConversionPlan & { profile: string }>();
    expect(p).toMatchObject({ ok: true, profile: 'test', table: '"shop"."receipts"' });
    expect(p.decisions).toEqual([expect.objectContaining({ object: 'receipts_number_key', resolution: expect.objectContaining({ choice: 'extend' }) })]);
    expect(p.size.rows).toBe(200);

    // Flags add to it and override it: another interval, the key dropped instead.
    const flagged = await runCli(['plan', 'conversion', '--input', inputFile('start.json', START), '--interval', 'day', '--unique-key', 'receipts_number_key=drop', '--json'], env());
    expect(flagged.code, flagged.stderr).toBe(0);
    const f = flagged.json<ConversionPlan>();
    expect(f.decisions).toEqual([expect.objectContaining({ object: 'receipts_number_key', resolution: expect.objectContaining({ choice: 'drop' }) })]);
    expect(f.partitions.names.some((n) => /^receipts_p\d{4}_\d{2}_\d{2}$/.test(n))).toBe(true);

    // Without the option the blocker stands (exit 1), as the run's preflight would fail.
    const { options: _o, ...bare } = START;
    expect((await runCli(['plan', 'conversion', '--input', inputFile('bare.json', bare)], env())).code).toBe(1);

    // What the run refuses, the plan refuses with the workflow parser's own message (exit 2, nothing read).
    for (const [name, bad] of [
      ['lag.json', { ...START, copy: { maxReplicaLagMs: -1 } }],
      ['unknown.json', { ...START, copyy: {} }],
      ['retention.json', { ...START, retentionMinutes: 5 }],
      ['interval.json', { ...START, partitionBy: { column: 'paid_at', interval: 'fortnight' } }],
    ] as const) {
      const f2 = inputFile(name, bad);
      const r = await runCli(['plan', 'conversion', '--input', f2], env());
      expect(r.code, r.stderr).toBe(2);
      let expected = '';
      try {
        parseGenericConversionInput(bad);
      } catch (err) {
        expected = (err as Error).message;
      }
      expect(expected).not.toBe('');
      expect(r.stderr).toContain(`plan: --input ${f2}: ${expected}`);
    }
    // A field a flag set is named by its flag.
    const badFlag = await runCli(['plan', 'conversion', '--input', inputFile('start.json', START), '--mode', 'instant'], env());
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('plan: --mode: ');
  });

  it('shows the engine a new run takes: the key log and its trigger, one snapshot, the partitions in copy.parallelism lanes with their indexes built after the fill, the replay and the drain in the swap, and that engine\'s cost', async () => {
    const input = inputFile('lanes.json', { ...START, copy: { parallelism: 3 } });
    const r = await runCli(['plan', 'conversion', '--input', input, '--all', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const p = r.json<ConversionPlan>();
    const ph = (name: string) => p.phases.find((x) => x.phase === name)!;
    // Two indexes carried (the key, the unique number extended), so two built per partition.
    expect(p.copyShape).toMatchObject({ engine: 'change-log', log: '"shop"."receipts_lichen_log"', lanes: 3, indexesPerPartition: 2, partitions: p.partitions.count, replayShortAt: 1000 });
    // The sync logs keys (no upsert into the shadow) and refuses TRUNCATE.
    const sync = ph('sync').statements.join('\n');
    expect(sync).toContain('CREATE TABLE IF NOT EXISTS "shop"."receipts_lichen_log" (seq bigserial PRIMARY KEY, op "char" NOT NULL, "id" bigint)');
    expect(sync).toContain('INSERT INTO "shop"."receipts_lichen_log" (op, "id")');
    expect(sync).toContain('BEFORE TRUNCATE ON "shop"."receipts" FOR EACH STATEMENT');
    expect(sync).not.toContain('ON CONFLICT');
    // The copy: plain tables filled under one exported snapshot, indexes after, attached; no keyset batch.
    const copy = ph('copy');
    expect(copy.what).toMatch(/filled in 3 lane\(s\)/);
    expect(copy.statements.join('\n')).toMatch(/pg_export_snapshot[\s\S]*SET TRANSACTION SNAPSHOT[\s\S]*INSERT INTO "shop"\."receipts_p\d{4}_\d{2}_lichen_fill"[\s\S]*2 index\(es\)[\s\S]*ATTACH PARTITION/);
    expect(copy.statements.join('\n')).not.toContain('ON CONFLICT');
    expect(ph('replay').statements[0]).toContain('DELETE FROM "shop"."receipts_lichen_log"');
    // The swap drains the log's tail under its lock.
    expect(ph('swap').what).toMatch(/the log's tail drained/);
    expect(ph('swap').statements.join('\n')).toContain('DELETE FROM "shop"."receipts_lichen_log"');
    // The cost of that engine: every row copied, as much disk, the time of fills and index builds over 3 lanes.
    expect(p.modes.copy).toMatchObject({ rowsCopied: 200, how: expect.stringMatching(/^change-log engine: one snapshot, \d+ partition\(s\) in 3 lane\(s\)/), lockTime: expect.stringContaining("the change log's tail drained") });

    // The text says it too.
    const text = await runCli(['plan', 'conversion', '--input', input], env());
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/engine: change log — the sync trigger appends each write's key to "shop"\."receipts_lichen_log" \(and refuses TRUNCATE\); one exported snapshot; \d+ partition\(s\) filled in 3 lane\(s\) as plain tables, 2 index\(es\) built on each after its fill/);
    expect(text.stdout).toContain('-- phase replay:');
    expect(text.stdout).toMatch(/how: change-log engine/);
    expect(text.stdout).not.toMatch(/-- phase copy: keyset batches/);
  });

  it('an input without table is memory_records\' form: the plan of its preset (monthly by created_at), refused by its own parser', async () => {
    await seedHeap(heap.pool, 300, 3);
    const heapEnv = { LICHEN_DB_PROFILE_TEST: heap.url };
    const r = await runCli(['plan', 'conversion', '--input', inputFile('memory-records.json', { connectionProfile: 'test', nonProduction: true, retentionMinutes: 0, premakeMonths: 2 }), '--json'], heapEnv);
    expect(r.code, r.stderr).toBe(0);
    const p = r.json<ConversionPlan & { profile: string }>();
    expect(p).toMatchObject({ ok: true, profile: 'test', size: expect.objectContaining({ rows: 300 }) });
    expect(p.table).toMatch(/"memory_records"$/);
    expect(p.partitions.names.length).toBeGreaterThanOrEqual(4);
    expect(p.partitions.names.every((n) => /^memory_records_p\d{4}_\d{2}$/.test(n)), p.partitions.names.join(', ')).toBe(true);
    // What memory_records' run refuses, the plan refuses with its parser's message (exit 2).
    const bad = await runCli(['plan', 'conversion', '--input', inputFile('memory-records-bad.json', { sync: 'both' })], heapEnv);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--input .*memory-records-bad\.json: .*sync/);
  });
});

