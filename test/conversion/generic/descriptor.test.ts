import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../helpers/db';
import { parseTableName, readTableDescriptor, TableNameError, TableNotFoundError } from '../../../activities/conversion/descriptor';
import { APP_ROLE_SQL, INVOICES_SQL } from './shapes';

const db = useTestDatabase();
const app = `app_${process.pid}`;

describe('the table descriptor, read from the catalog', () => {
  it('carries every part of a rich table, schema-qualified', async () => {
    await db.pool.query(APP_ROLE_SQL(app));
    await db.pool.query(INVOICES_SQL(app));
    const d = await db.withClient((c) => readTableDescriptor(c, parseTableName('billing.invoices')));
    expect(d.qualified).toBe('"billing"."invoices"');
    expect(d.relkind).toBe('r');
    const col = (n: string) => d.columns.find((c) => c.name === n)!;
    expect(col('id')).toMatchObject({ type: 'bigint', notNull: true, default: "nextval('billing.invoices_id_seq'::regclass)" });
    expect(col('number').collation).toBe('pg_catalog."C"');
    expect(col('state')).toMatchObject({ type: 'billing.invoice_state', typtype: 'e', default: "'draft'::billing.invoice_state" });
    expect(col('amount')).toMatchObject({ type: 'billing.money_amount', typtype: 'd', baseType: 'numeric(12,2)' });
    expect(col('tax')).toMatchObject({ generated: 's', default: null });
    expect(col('tax').generationExpr).toContain('round');
    expect(col('tags')).toMatchObject({ type: 'text[]', elementType: 'text' });
    expect(d.primaryKey).toMatchObject({ name: 'invoices_pkey', columns: ['id'], definition: 'PRIMARY KEY (id)' });
    expect(d.constraints.map((c) => [c.name, c.type])).toEqual([['invoices_customer_id_fkey', 'f'], ['invoices_number_nonempty', 'c']]);
    expect(d.constraints[0].definition).toBe('FOREIGN KEY (customer_id) REFERENCES billing.customers(id)');
    const idx = (n: string) => d.indexes.find((i) => i.name === n)!;
    expect(idx('invoices_open_idx').predicate).toBe("(state = 'open'::billing.invoice_state)");
    expect(idx('invoices_lower_number_idx').keyColumns).toEqual([null]);
    expect(idx('invoices_lower_number_idx').keyElements).toEqual(['lower(number)']);
    expect(idx('invoices_pkey')).toMatchObject({ unique: true, constraint: 'invoices_pkey' });
    expect(d.triggers.map((t) => t.name)).toEqual(['invoices_stamp']);
    expect(d.triggers[0].definition).toBe('CREATE TRIGGER invoices_stamp BEFORE UPDATE ON billing.invoices FOR EACH ROW EXECUTE FUNCTION billing.stamp()');
    expect(d.rowSecurity).toMatchObject({ enabled: true, forced: false, reader: { role: expect.any(String) } });
    expect(d.policies).toEqual([{ name: 'invoices_app', permissive: true, command: 'ALL', roles: [app], using: "(state <> 'void'::billing.invoice_state)", withCheck: '((amount)::numeric >= (0)::numeric)' }]);
    expect(d.grants.filter((g) => g.grantee === app).map((g) => g.privilege).sort()).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
    expect(d.storage).toEqual(['fillfactor=90']);
    expect(d.comment).toBe('one row per invoice');
    expect(col('number').comment).toBe('human invoice number');
    expect(d.views.map((v) => [v.name, v.kind])).toEqual([['billing.open_invoices', 'view'], ['billing.invoice_totals', 'materialized view']]);
    expect(d.views[0].definition).toContain('FROM billing.invoices');
    expect(d.sequences).toMatchObject([{ name: 'billing.invoices_id_seq', column: 'id', ownership: 'a', lastValue: null, options: { increment: '1', start: '1', cycle: false } }]);
    expect(d.incomingForeignKeys).toEqual([]);
    expect(d.otherDependents).toEqual([]);
  });

  it('names incoming foreign keys, identity sequences and what it cannot carry', async () => {
    await db.pool.query(`CREATE TABLE public.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL, body text);
      CREATE TABLE public.event_notes (event_id bigint REFERENCES public.events (id), note text);
      CREATE RULE events_no_delete AS ON DELETE TO public.events DO INSTEAD NOTHING;
      CREATE TABLE public.wraps (e public.events);
      INSERT INTO public.events (at, body) VALUES (now(), 'x');`);
    const d = await db.withClient((c) => readTableDescriptor(c, parseTableName('events')));
    expect(d.columns[0]).toMatchObject({ name: 'id', identity: 'a', default: null });
    expect(d.sequences).toMatchObject([{ name: 'public.events_id_seq', column: 'id', ownership: 'i', lastValue: '1' }]);
    expect(d.incomingForeignKeys).toEqual([{ name: 'event_notes_event_id_fkey', fromTable: 'public.event_notes', definition: 'FOREIGN KEY (event_id) REFERENCES public.events(id)', columns: ['event_id'], referencedColumns: ['id'] }]);
    expect(d.otherDependents).toEqual([
      { kind: 'column with the row type', name: 'public.wraps.e' },
      { kind: 'rule', name: 'rule events_no_delete on table public.events' },
    ]);
  });

  it('refuses names that are not identifiers and names an absent table', async () => {
    expect(() => parseTableName('a.b.c')).toThrow(TableNameError);
    expect(() => parseTableName('x; drop table y')).toThrow(/is not an identifier/);
    expect(parseTableName('"Quoted Name"')).toEqual({ schema: null, name: 'Quoted Name' });
    await expect(db.withClient((c) => readTableDescriptor(c, parseTableName('billing.nope')))).rejects.toThrow(TableNotFoundError);
  });
});
