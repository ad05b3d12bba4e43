/**
 * A table's whole definition, read from the catalog (read.ts). Every SQL fragment in it
 * (types, defaults, expressions, definitions) was produced by Postgres itself
 * (format_type, pg_get_expr, pg_get_indexdef, pg_get_constraintdef, pg_get_triggerdef,
 * pg_get_viewdef) with an empty search_path, so every name in it is schema-qualified and the
 * fragment means the same whatever the session's search_path. Names are raw (unquoted).
 */
export interface ColumnDesc {
  name: string;
  attnum: number;
  /** format_type(atttypid, atttypmod), e.g. `numeric(12,2)`, `public.mood`, `text[]`. */
  type: string;
  /** The type's category: b base, e enum, d domain, c composite, r range, m multirange. */
  typtype: string;
  /** For a domain: its base type (format_type); otherwise the type itself. */
  baseType: string;
  /** For an array: the element type (format_type), else null. */
  elementType: string | null;
  notNull: boolean;
  /** PostgreSQL 18: the name of the column's NOT NULL constraint when it is NOT VALID (old rows may hold NULL), else null. */
  notNullNotValid: string | null;
  /** PostgreSQL 18: the name of the column's NOT NULL constraint (carried to the new table), else null. */
  notNullName: string | null;
  /** pg_get_expr of the default, null when none (identity and generated columns have none). */
  default: string | null;
  /** '' none, 'a' GENERATED ALWAYS AS IDENTITY, 'd' BY DEFAULT. */
  identity: '' | 'a' | 'd';
  /** '' none, 's' STORED, 'v' VIRTUAL. */
  generated: '' | 's' | 'v';
  /** The generation expression of a generated column. */
  generationExpr: string | null;
  /** The column's collation when it differs from its type's default, qualified ("pg_catalog"."C"). */
  collation: string | null;
  comment: string | null;
  /** Column-level privileges (attacl). */
  grants: Grant[];
}

export interface IndexDesc {
  name: string;
  /** pg_get_indexdef(oid) — the CREATE INDEX statement on the source table. */
  definition: string;
  /** Access method (btree, gin, …). */
  method: string;
  unique: boolean;
  /** Key columns by name; null for an expression element. */
  keyColumns: (string | null)[];
  /** Key elements as pg_get_indexdef(oid, k) renders them (columns or expressions, with opclass, order). */
  keyElements: string[];
  /** INCLUDE columns. */
  includeColumns: string[];
  /** pg_get_expr(indpred) of a partial index. */
  predicate: string | null;
  /** Storage parameters of the index (reloptions), e.g. ["fillfactor=70"]. */
  options: string[];
  /** The index backs this constraint (primary key, unique, exclusion), or null for a plain index. */
  constraint: string | null;
  /** The index is the table's replica identity. */
  replicaIdentity: boolean;
  nullsNotDistinct: boolean;
  comment: string | null;
  valid: boolean;
}

export interface ConstraintDesc {
  name: string;
  /** p primary key, u unique, c check, f foreign key, x exclusion, n not null (PG 18). */
  type: string;
  /** pg_get_constraintdef — e.g. `PRIMARY KEY (id)`, `CHECK ((amount >= 0))`, `FOREIGN KEY (x) REFERENCES public.y(id)`. */
  definition: string;
  columns: string[];
  /** The backing index (p, u, x). */
  index: string | null;
  deferrable: boolean;
  validated: boolean;
  /** Set for a NOT VALID or NO INHERIT check. */
  noInherit: boolean;
  comment: string | null;
}

export interface IncomingForeignKey {
  name: string;
  /** The referencing table, qualified and quoted. */
  fromTable: string;
  definition: string;
  columns: string[];
  referencedColumns: string[];
}

export interface TriggerDesc {
  name: string;
  /** pg_get_triggerdef — the CREATE TRIGGER statement on the source table. */
  definition: string;
  enabled: string;
  /** Row-level (FOR EACH ROW) rather than statement-level. */
  row: boolean;
  /** Uses transition tables (REFERENCING NEW/OLD TABLE). */
  transitionTables: boolean;
  /** A CONSTRAINT TRIGGER. */
  isConstraint: boolean;
  comment: string | null;
}

export interface PolicyDesc {
  name: string;
  permissive: boolean;
  /** ALL, SELECT, INSERT, UPDATE, DELETE. */
  command: string;
  /** Role names; ["public"] means PUBLIC. */
  roles: string[];
  using: string | null;
  withCheck: string | null;
}

export interface Grant {
  grantee: string;
  privilege: string;
  grantable: boolean;
}

export interface PublicationDesc {
  name: string;
  /** Row filter (PG 15+), or null. */
  rowFilter: string | null;
  /** Column list (PG 15+), or null for every column. */
  columns: string[] | null;
  /** Membership through FOR ALL TABLES or FOR TABLES IN SCHEMA: follows the new table by itself. */
  implicit: boolean;
  /**
   * How the table is in it: named (FOR TABLE), FOR ALL TABLES, or FOR TABLES IN SCHEMA (PG 15+).
   * The last two take in every table of the database (of the schema) too: the shadow, its
   * partitions and the old table.
   */
  kind: 'table' | 'all-tables' | 'schema';
  viaPartitionRoot: boolean;
}

export interface DependentView {
  /** Qualified and quoted. */
  name: string;
  kind: 'view' | 'materialized view';
  /** pg_get_viewdef — the view's query, schema-qualified. */
  definition: string;
  /** WITH options of the view (security_barrier, check_option, security_invoker). */
  options: string[];
  owner: string;
  /** Other views depending on this one (they follow it by OID; only this one is recreated). */
  dependents: string[];
  /** CREATE INDEX statements of a materialized view. */
  indexes: string[];
  grants: Grant[];
  comment: string | null;
}

/** Another catalog object that follows the table by OID and that the conversion cannot recreate. */
export interface OtherDependent {
  kind: string;
  name: string;
}

export interface OwnedSequence {
  /** Qualified and quoted. */
  name: string;
  column: string;
  /** 'a' serial (OWNED BY, the default calls nextval), 'i' identity (internal). */
  ownership: 'a' | 'i';
  lastValue: string | null;
  options: { increment: string; min: string; max: string; start: string; cache: string; cycle: boolean };
}

export interface TableDescriptor {
  oid: number;
  schema: string;
  name: string;
  /** "schema"."name" */
  qualified: string;
  /** r heap, p partitioned, … */
  relkind: string;
  /** p permanent, u unlogged, t temporary. */
  persistence: string;
  isPartition: boolean;
  /** Inheritance parents and children (plain inheritance, not partitioning). */
  inheritance: { parents: string[]; children: string[] };
  /** A typed table (CREATE TABLE … OF type). */
  ofType: string | null;
  owner: string;
  comment: string | null;
  /** reloptions, e.g. ["fillfactor=70", "autovacuum_enabled=false"]. */
  storage: string[];
  tablespace: string | null;
  /** d default, n nothing, f full, i index. */
  replicaIdentity: string;
  rowSecurity: {
    enabled: boolean;
    forced: boolean;
    /**
     * The role reading the descriptor (the worker's: the copy, parity and retention run as it) and
     * what lets it past the table's policies: superuser, BYPASSRLS, or ownership (itself or by
     * membership in the owner role), which FORCE ROW LEVEL SECURITY takes away.
     */
    reader?: { role: string; superuser: boolean; bypassRls: boolean; owner: boolean };
  };
  columns: ColumnDesc[];
  primaryKey: ConstraintDesc | null;
  constraints: ConstraintDesc[];
  indexes: IndexDesc[];
  incomingForeignKeys: IncomingForeignKey[];
  triggers: TriggerDesc[];
  policies: PolicyDesc[];
  grants: Grant[];
  publications: PublicationDesc[];
  views: DependentView[];
  otherDependents: OtherDependent[];
  sequences: OwnedSequence[];
  /** Objects the conversion alters that the reading (worker's) role cannot (descriptor/alterable.ts); absent in descriptors made by hand. */
  notAlterable?: NotAlterable[];
  /** pg_total_relation_size (heap, indexes, TOAST) and the heap alone. */
  totalBytes: number;
  tableBytes: number;
  /** reltuples (−1 never analysed). */
  estimatedRows: number;
  serverVersionNum: number;
  /** NOT NULL … NOT VALID constraints (18+); their columns read `notNull: false` (old rows may hold NULLs). */
  notValidNotNull: NotValidNotNull[];
}

export interface NotValidNotNull {
  column: string;
  constraint: string;
}

/** An object the conversion alters that the worker's role neither owns nor inherits the owner of (a schema: no CREATE). */
export interface NotAlterable {
  what: 'table' | 'view' | 'materialized view' | 'publication' | 'sequence' | 'schema';
  /** Qualified and quoted. */
  object: string;
  owner: string;
  /** A referencing table: the foreign key's name (dropped at the swap when chosen). */
  via: string | null;
}
