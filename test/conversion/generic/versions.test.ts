import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { buildPlan, planConversion } from '../../../activities/conversion/plan/plan';
import { copyAll, runPhase, runPhaseInTransaction } from '../../../activities/conversion/generic/execute';
import { parseTableName, readTableDescriptor } from '../../../activities/conversion/descriptor';
import { readPgFeatures } from '../../../src/shared/pg-version';

/**
 * The catalog readers on the run's server, whatever its major (`npm test`: 18; `npm run
 * test:pg-versions`: 14–18): a table using every version-dependent catalog feature the server
 * has is read and planned without error, and each feature reads as the server has it.
 * On 14 the descriptor used to fail with `column x.indnullsnotdistinct does not exist`.
 */
const db = useTestDatabase();

describe("the catalog readers on this server's PostgreSQL version", () => {
  it('read and plan a table with the version-dependent features the server has (NULLS NOT DISTINCT, publication filters and schemas, MAINTAIN, virtual columns)', async () => {
    const f = await readPgFeatures(db.pool);
    expect(f.major).toBeGreaterThanOrEqual(14);
    const role = `ver_app_${process.pid}`;
    await db.pool.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role}; END IF; END $$`);
    await db.pool.query(`
      CREATE SCHEMA ver;
      CREATE TABLE ver.events (
        id bigint PRIMARY KEY,
        created_at timestamptz NOT NULL,
        ref text,
        tenant int NOT NULL DEFAULT 1
        ${f.virtualGeneratedColumns ? ', tenant2 int GENERATED ALWAYS AS (tenant * 2) VIRTUAL' : ''}
      );
      CREATE UNIQUE INDEX events_ref ON ver.events (ref, created_at) ${f.nullsNotDistinct ? 'NULLS NOT DISTINCT' : ''};
      INSERT INTO ver.events (id, created_at, ref) SELECT g, now() - g * interval '1 day', 'r' || g FROM generate_series(1, 20) g;
      GRANT SELECT${f.maintainPrivilege ? ', MAINTAIN' : ''} ON ver.events TO ${role};
      CREATE PUBLICATION ver_pub FOR TABLE ver.events;
      ${f.publicationRowFiltersAndColumns ? 'CREATE PUBLICATION ver_pub_filtered FOR TABLE ver.events (id, created_at) WHERE (id > 0);' : ''}
      ${f.publicationSchemas ? 'CREATE PUBLICATION ver_pub_schema FOR TABLES IN SCHEMA ver;' : ''}
    `);

    const d = await db.withClient((c) => readTableDescriptor(c, parseTableName('ver.events')));
    expect(Math.floor(d.serverVersionNum / 10000)).toBe(f.major);
    expect(d.indexes.find((i) => i.name === 'events_ref')?.nullsNotDistinct).toBe(f.nullsNotDistinct);
    const pubs = Object.fromEntries(d.publications.map((p) => [p.name, p]));
    expect(Object.keys(pubs).sort()).toEqual(['ver_pub', ...(f.publicationRowFiltersAndColumns ? ['ver_pub_filtered'] : []), ...(f.publicationSchemas ? ['ver_pub_schema'] : [])]);
    expect(pubs.ver_pub).toMatchObject({ rowFilter: null, columns: null, implicit: false });
    if (f.publicationRowFiltersAndColumns) expect(pubs.ver_pub_filtered).toMatchObject({ rowFilter: '(id > 0)', columns: ['id', 'created_at'], implicit: false });
    if (f.publicationSchemas) expect(pubs.ver_pub_schema).toMatchObject({ implicit: true });
    expect(d.grants.filter((g) => g.grantee === role).map((g) => g.privilege).sort()).toEqual(f.maintainPrivilege ? ['MAINTAIN', 'SELECT'] : ['SELECT']);
    expect(d.columns.find((c) => c.name === 'tenant2')?.generated).toBe(f.virtualGeneratedColumns ? 'v' : undefined);

    // The plan reads the same catalog: it answers (blockers and notes, never an error).
    const choice = parseConversionChoice({ table: 'ver.events', partitionBy: { column: 'created_at', interval: 'month' } });
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.table).toBe(d.qualified);
    expect(plan.blockers.map((b) => b.code)).not.toContain('server-version');
    expect(plan.size.rows).toBe(20);
  });

  it('refuses a server older than 14 at the plan, naming its version', async () => {
    await db.pool.query(`CREATE TABLE IF NOT EXISTS ver.old_server (id bigint PRIMARY KEY, created_at timestamptz NOT NULL)`);
    const d = await db.withClient((c) => readTableDescriptor(c, parseTableName('ver.old_server')));
    const choice = parseConversionChoice({ table: 'ver.old_server', partitionBy: { column: 'created_at', interval: 'month' } });
    const plan = buildPlan({ ...d, serverVersionNum: 130016 }, null, choice, Date.now());
    expect(plan.ok).toBe(false);
    expect(plan.blockers.find((b) => b.code === 'server-version')?.message).toMatch(/PostgreSQL 13\.16; conversions need PostgreSQL 14 or later/);
    expect(buildPlan(d, null, choice, Date.now()).blockers.map((b) => b.code)).not.toContain('server-version');
  });

  it('copies old NULL rows of a column with NOT NULL … NOT VALID (18: attnotnull is true for it), and the plan says the swap adds the constraint back NOT VALID', async () => {
    const f = await readPgFeatures(db.pool);
    await db.pool.query(`
      CREATE SCHEMA ver_nn; -- not ver: the first test's TABLES IN SCHEMA publication covers it
      CREATE TABLE ver_nn.notes (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, "Body" text);
      INSERT INTO ver_nn.notes SELECT g, now() - g * interval '1 day', CASE WHEN g % 3 = 0 THEN NULL ELSE 'b' || g END FROM generate_series(1, 30) g;
      ${f.notNullConstraints ? `ALTER TABLE ver_nn.notes ADD CONSTRAINT "Body not null" NOT NULL "Body" NOT VALID;` : ''}
    `);
    const d = await db.withClient((c) => readTableDescriptor(c, parseTableName('ver_nn.notes')));
    expect(d.notValidNotNull).toEqual(f.notNullConstraints ? [{ column: 'Body', constraint: 'Body not null' }] : []);
    expect(d.columns.find((c) => c.name === 'Body')?.notNull).toBe(false);

    const choice = parseConversionChoice({ table: 'ver_nn.notes', partitionBy: { column: 'created_at', interval: 'month' } });
    const plan = await db.withClient((c) => planConversion(c, choice));
    expect(plan.blockers).toEqual([]);
    const note = plan.notes.find((n) => n.includes('NOT VALID'));
    if (f.notNullConstraints) expect(note).toContain('ADD CONSTRAINT "Body not null" NOT NULL "Body" NOT VALID');
    else expect(note).toBeUndefined();
    await db.withClient((c) => runPhase(c, plan, 'shadow'));
    await db.withClient((c) => runPhaseInTransaction(c, plan, 'sync', 200));
    await copyAll(db.pool, plan, 10);
    const n = await db.pool.query<{ total: string; nulls: string }>(`SELECT count(*)::text AS total, count(*) FILTER (WHERE "Body" IS NULL)::text AS nulls FROM ${plan.names.shadow}`);
    expect(n.rows[0]).toEqual({ total: '30', nulls: '10' });
  });
});
