import { lit, qi } from '../../../src/conversion/choice/names';
import type { ColumnDesc, Grant, TableDescriptor } from '../descriptor/types';
import type { Analysis } from './analyse';
import { constraintOf } from './analyse';
import type { ConversionChoice } from '../../../src/conversion/choice/choice';
import { boundLiteral, defaultPartitionName, nextStart, partitionName, type PartitionType } from '../../../src/conversion/choice/intervals';
import { shadowIndexName, type ConversionNames } from './names';
import { appendToFirstList, retargetIndexDef } from './sqltext';

/** An index (or key constraint) built on the shadow under a temporary name, renamed at the swap. */
export interface IndexRename {
  final: string;
  temp: string;
}

export interface ShadowDdl {
  table: string[];
  partitions: string[];
  /** Names and starts of the interval partitions, oldest first (plus the default one). */
  partitionNames: string[];
  indexes: string[];
  constraints: string[];
  security: string[];
  renames: IndexRename[];
}

function identitySql(c: ColumnDesc, d: TableDescriptor): string {
  const seq = d.sequences.find((s) => s.column === c.name && s.ownership === 'i');
  const o = seq?.options;
  const opts = o ? ` (INCREMENT BY ${o.increment} MINVALUE ${o.min} MAXVALUE ${o.max} START WITH ${o.start} CACHE ${o.cache}${o.cycle ? ' CYCLE' : ''})` : '';
  return ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${opts}`;
}

export function columnSql(c: ColumnDesc, d: TableDescriptor, partitionColumn: string): string {
  let s = `${qi(c.name)} ${c.type}`;
  if (c.collation) s += ` COLLATE ${c.collation}`;
  if (c.generated) s += ` GENERATED ALWAYS AS (${c.generationExpr}) ${c.generated === 's' ? 'STORED' : 'VIRTUAL'}`;
  if (c.identity) s += identitySql(c, d);
  if (c.default !== null) s += ` DEFAULT ${c.default}`;
  // A NOT VALID NOT NULL (18) is added NOT VALID in the swap (not-valid.ts): old rows may hold NULL.
  if (c.notNull && !c.notNullNotValid) s += `${c.notNullName ? ` CONSTRAINT ${qi(c.notNullName)}` : ''} NOT NULL`; // 18 names it: the name is carried
  else if (c.name === partitionColumn) s += ' NOT NULL';
  return s;
}

export const granteeSql = (g: string) => (g === 'public' ? 'PUBLIC' : qi(g));

export function grantSql(grants: Grant[], on: string, column?: string): string[] {
  return grants.map((g) => `GRANT ${g.privilege}${column ? ` (${qi(column)})` : ''} ON ${on} TO ${granteeSql(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`);
}

/** A partition takes the table's owner and grants: OWNER TO on the parent does not reach its partitions. */
export function partitionSecuritySql(d: TableDescriptor, partition: string): string[] {
  return [`ALTER TABLE ${partition} OWNER TO ${qi(d.owner)}`, ...grantSql(d.grants, partition), ...d.columns.flatMap((c) => grantSql(c.grants, partition, c.name))];
}

export function partitionStatements(d: TableDescriptor, names: ConversionNames, choice: ConversionChoice, type: PartitionType, starts: number[]): { sql: string[]; names: string[] } {
  const storage = d.storage.length ? ` WITH (${d.storage.join(', ')})` : '';
  const ts = d.tablespace ? ` TABLESPACE ${qi(d.tablespace)}` : '';
  const sql: string[] = [];
  const out: string[] = [];
  for (const s of starts) {
    const p = partitionName(d.name, choice.interval, s);
    out.push(p);
    sql.push(`CREATE TABLE ${qi(d.schema)}.${qi(p)} PARTITION OF ${names.shadow} FOR VALUES FROM (${boundLiteral(type, s)}) TO (${boundLiteral(type, nextStart(choice.interval, s))})${storage}${ts}`);
    sql.push(...partitionSecuritySql(d, `${qi(d.schema)}.${qi(p)}`));
  }
  if (choice.options.defaultPartition) {
    const p = defaultPartitionName(d.name);
    out.push(p);
    sql.push(`CREATE TABLE ${qi(d.schema)}.${qi(p)} PARTITION OF ${names.shadow} DEFAULT${storage}${ts}`);
    sql.push(...partitionSecuritySql(d, `${qi(d.schema)}.${qi(p)}`));
  }
  return { sql, names: out };
}

/** Every statement that builds the shadow: the table, its partitions, keys, indexes, constraints, security and comments. */
export function shadowDdl(d: TableDescriptor, a: Analysis, choice: ConversionChoice, names: ConversionNames, starts: number[]): ShadowDdl {
  const col = choice.column;
  const S = names.shadow;
  const renames: IndexRename[] = [];
  const table = [
    `CREATE TABLE ${S} (\n  ${d.columns.map((c) => columnSql(c, d, col)).join(',\n  ')}\n) PARTITION BY RANGE (${qi(col)})${d.tablespace ? ` TABLESPACE ${qi(d.tablespace)}` : ''}`,
  ];
  const parts = partitionStatements(d, names, choice, a.partitionType ?? 'timestamp with time zone', starts);

  const indexes: string[] = [];
  const constraints: string[] = [];
  // The primary key: the heap's, or the unique key chosen, with the partition column when missing.
  const pk = d.primaryKey;
  const keyIndex = d.indexes.find((i) => i.name === a.key?.index);
  const keyIndexName = keyIndex?.name;
  const pkFinal = pk?.name ?? (keyIndex ? constraintOf(d, keyIndex)?.name ?? keyIndex.name : `${d.name}_pkey`);
  const pkTemp = shadowIndexName(pkFinal);
  const pkDef = pk ? (pk.columns.includes(col) ? pk.definition : appendToFirstList(pk.definition, qi(col))) : `PRIMARY KEY (${a.conflictColumns.map(qi).join(', ')})`;
  constraints.push(`ALTER TABLE ${S} ADD CONSTRAINT ${qi(pkTemp)} ${pkDef}`);
  renames.push({ final: pkFinal, temp: pkTemp });

  for (const i of d.indexes) {
    if (i.name === (pk?.index ?? keyIndexName)) continue;
    const con = constraintOf(d, i);
    if (con?.type === 'x') continue; // a blocker
    const fate = a.uniqueKeys.find((u) => u.index === i.name)?.fate;
    if (i.unique && (fate === 'dropped' || fate === 'blocked')) continue;
    const extend = i.unique && fate === 'extended';
    const final = con?.name ?? i.name;
    const temp = shadowIndexName(final);
    if (con) {
      constraints.push(`ALTER TABLE ${S} ADD CONSTRAINT ${qi(temp)} ${extend ? appendToFirstList(con.definition, qi(col)) : con.definition}`);
    } else {
      indexes.push(retargetIndexDef(i.definition, i.method, qi(temp), S, extend ? qi(col) : undefined));
    }
    renames.push({ final, temp });
    if (i.comment !== null) indexes.push(`COMMENT ON INDEX ${qi(d.schema)}.${qi(temp)} IS ${lit(i.comment)}`);
  }
  const selfFks = new Set(d.incomingForeignKeys.filter((f) => f.fromTable === `${d.schema}.${d.name}` || f.fromTable === d.name).map((f) => f.name));
  for (const c of d.constraints) {
    if (!c.validated && (c.type === 'c' || c.type === 'f')) continue; // added NOT VALID in the swap (not-valid.ts)
    if (c.type === 'c' || (c.type === 'f' && !selfFks.has(c.name))) constraints.push(`ALTER TABLE ${S} ADD CONSTRAINT ${qi(c.name)} ${c.definition}`);
    if (c.comment !== null && (c.type === 'c' || c.type === 'f')) constraints.push(`COMMENT ON CONSTRAINT ${qi(c.name)} ON ${S} IS ${lit(c.comment)}`);
  }
  if (pk?.comment) constraints.push(`COMMENT ON CONSTRAINT ${qi(pkTemp)} ON ${S} IS ${lit(pk.comment)}`);

  const security: string[] = [];
  if (d.rowSecurity.enabled) security.push(`ALTER TABLE ${S} ENABLE ROW LEVEL SECURITY`);
  if (d.rowSecurity.forced) security.push(`ALTER TABLE ${S} FORCE ROW LEVEL SECURITY`);
  for (const p of d.policies) {
    security.push(`CREATE POLICY ${qi(p.name)} ON ${S} AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${p.command} TO ${p.roles.map(granteeSql).join(', ')}` +
      `${p.using !== null ? ` USING (${p.using})` : ''}${p.withCheck !== null ? ` WITH CHECK (${p.withCheck})` : ''}`);
  }
  security.push(`ALTER TABLE ${S} OWNER TO ${qi(d.owner)}`);
  security.push(...grantSql(d.grants, S));
  for (const c of d.columns) security.push(...grantSql(c.grants, S, c.name));
  if (d.comment !== null) security.push(`COMMENT ON TABLE ${S} IS ${lit(d.comment)}`);
  for (const c of d.columns.filter((x) => x.comment !== null)) security.push(`COMMENT ON COLUMN ${S}.${qi(c.name)} IS ${lit(c.comment!)}`);
  if (d.replicaIdentity === 'f') security.push(`ALTER TABLE ${S} REPLICA IDENTITY FULL`);
  else if (d.replicaIdentity === 'n') security.push(`ALTER TABLE ${S} REPLICA IDENTITY NOTHING`);
  else if (d.replicaIdentity === 'i') {
    const ri = d.indexes.find((i) => i.replicaIdentity);
    const carried = ri && renames.find((r) => r.final === (constraintOf(d, ri)?.name ?? ri.name));
    if (carried) security.push(`ALTER TABLE ${S} REPLICA IDENTITY USING INDEX ${qi(carried.temp)}`);
  }
  return { table, partitions: parts.sql, partitionNames: parts.names, indexes, constraints, security, renames };
}
