/**
 * The hostile-input corpus: start inputs an operator (or an attacker with access to the Start
 * Workflow form) might paste, for each workflow. Every case must be rejected at start with an
 * `InvalidInput` failure naming `field`, before any activity (so before any SQL).
 *
 * Cases are built as a cross product: each field of a workflow's input × the hostile values of
 * its kind (identifier, profile name, integer, number, boolean, object), plus structural cases
 * (not an object, unknown fields, prototype-pollution keys, deep nesting, cross-field rules).
 *
 * `pureOnly`: not representable in JSON (NaN, Infinity, undefined-in-array) or larger than the
 * server's payload limit (the 10 MB string): checked against the validator only; the server
 * refuses the 10 MB start itself (the end-to-end suite checks that separately).
 */

export type WorkflowName = 'productionCutover' | 'heapToPartitionedConversion' | 'partitionMaintenance';

export interface HostileCase {
  name: string;
  input: unknown;
  /** The dotted path the rejection must name. */
  field: string;
  pureOnly?: boolean;
}

/** 10 MiB: beyond Temporal's payload limit, so the validator-only suite carries it. */
export const HUGE_STRING_BYTES = 10 * 1024 * 1024;
let huge: string | undefined;
const hugeString = () => (huge ??= 'm'.repeat(HUGE_STRING_BYTES));

/** Sets `value` at the dotted `path` (a.b.c) of a fresh object. */
function at(path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  const root: Record<string, unknown> = {};
  let o = root;
  for (const k of keys.slice(0, -1)) {
    o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = value;
  return root;
}

/** Merges `extra` into `base` one level deep (for fields that need a sibling, e.g. nonProduction). */
function withBase(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    out[k] = typeof v === 'object' && v && !Array.isArray(v) && typeof out[k] === 'object' ? { ...(out[k] as object), ...(v as object) } : v;
  }
  return out;
}

function deeplyNested(depth: number): Record<string, unknown> {
  let o: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) o = { a: o };
  return o;
}

/** Values no identifier/enum field may accept: SQL, quoting, look-alikes, invisible characters. */
const IDENTIFIER_ATTACKS: [string, unknown][] = [
  ['SQL statement after the name', 'memory_records; drop table x'],
  ['a quoted identifier', '"memory_records"'],
  ['a trailing SQL comment', 'memory_records--'],
  ['a block comment', 'memory_records/**/'],
  ['a schema-qualified name', 'public.memory_records'],
  ['a quote-breaking injection', "memory_records' OR '1'='1"],
  ['upper case', 'MEMORY_RECORDS'],
  ['a Cyrillic е look-alike', 'memory_r\u0435cords'],
  ['fullwidth letters', '\uff4d\uff45\uff4d\uff4f\uff52\uff59_records'],
  ['a zero-width joiner', 'memory\u200d_records'],
  ['a zero-width space at the end', 'memory_records\u200b'],
  ['a right-to-left override', '\u202ememory_records'],
  ['a NUL byte', 'memory_records\u0000'],
  ['a trailing space', 'memory_records '],
  ['an empty string', ''],
  ['a number', 42],
  ['null', null],
  ['an array', ['memory_records']],
  ['an object', { name: 'memory_records' }],
  ['a boolean', true],
];

const PROFILE_ATTACKS: [string, unknown][] = [
  ['a URL with a password', 'postgres://postgres:hunter2@db:5432/lichen'],
  ['SQL', "default'; drop table x; --"],
  ['a Cyrillic е look-alike', 'd\u0435fault'],
  ['a zero-width joiner', 'de\u200dfault'],
  ['fullwidth letters', '\uff44\uff45\uff46\uff41\uff55\uff4c\uff54'],
  ['upper case', 'DEFAULT'],
  ['a path', '../../etc/passwd'],
  ['an object', { url: 'postgres://x' }],
  ['null', null],
];

const INT_ATTACKS: [string, unknown][] = [
  ['1e308', 1e308],
  ['-1e308', -1e308],
  ['2**53+1', 2 ** 53 + 1],
  ['a fraction', 1.5],
  ['a numeric string', '1000'],
  ['a boolean', true],
  ['null', null],
  ['an array', [100]],
  ['a deeply nested object', deeplyNested(2000)],
];
const INT_PURE_ATTACKS: [string, unknown][] = [
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
];
const NUM_ATTACKS: [string, unknown][] = [
  ['1e308', 1e308],
  ['-1e308', -1e308],
  ['a string', 'fast'],
  ['null', null],
  ['an object', {}],
];
const BOOL_ATTACKS: [string, unknown][] = [
  ['the string "true"', 'true'],
  ['1', 1],
  ['null', null],
  ['an object', { value: true }],
];
const OBJECT_ATTACKS: [string, unknown][] = [
  ['a string', 'yes'],
  ['an array', [{}]],
  ['null', null],
];

/** Keys that would pollute prototypes if an input were merged naively (JSON.parse makes them own keys). */
const POLLUTION_JSON = [
  ['__proto__ at the top', '{"__proto__": {"polluted": true}}', '__proto__'],
  ['constructor at the top', '{"constructor": {"prototype": {"polluted": true}}}', 'constructor'],
  ['prototype at the top', '{"prototype": {"polluted": true}}', 'prototype'],
] as const;

function structural(nested: string): HostileCase[] {
  const cases: HostileCase[] = [
    { name: 'an array instead of an object', input: [{}], field: 'input' },
    { name: 'a string instead of an object', input: 'memory_records', field: 'input' },
    { name: 'a number instead of an object', input: 1e308, field: 'input' },
    { name: 'a boolean instead of an object', input: true, field: 'input' },
    { name: 'null instead of an object', input: null, field: 'input' },
    { name: 'an unknown top-level field', input: { dropEverything: true }, field: 'dropEverything' },
    { name: 'a field name with SQL', input: { 'target; drop table x': 'memory_records' }, field: 'target; drop table x' },
    { name: 'a look-alike field name', input: { 't\u0430rget': 'memory_records' }, field: 't\u0430rget' },
    { name: 'a deeply nested unknown field', input: { nested: deeplyNested(2000) }, field: 'nested' },
    { name: 'a 1000-character unknown field name', input: { ['k'.repeat(1000)]: 1 }, field: 'k'.repeat(1000) },
    { name: `__proto__ inside ${nested}`, input: JSON.parse(`{"${nested}": {"__proto__": {"polluted": true}}}`), field: `${nested}.__proto__` },
  ];
  for (const [name, json, field] of POLLUTION_JSON) cases.push({ name, input: JSON.parse(json), field });
  return cases;
}

interface FieldSpec {
  path: string;
  kind: 'identifier' | 'profile' | 'int' | 'num' | 'bool' | 'object';
  /** Siblings the field needs to be read at all (e.g. nonProduction for fractional windows). */
  base?: Record<string, unknown>;
}

function crossProduct(fields: FieldSpec[]): HostileCase[] {
  const out: HostileCase[] = [];
  for (const f of fields) {
    const values: [string, unknown, boolean?][] =
      f.kind === 'identifier' ? IDENTIFIER_ATTACKS
        : f.kind === 'profile' ? PROFILE_ATTACKS
          : f.kind === 'int' ? [...INT_ATTACKS, ...INT_PURE_ATTACKS.map(([n, v]) => [n, v, true] as [string, unknown, boolean])]
            : f.kind === 'num' ? NUM_ATTACKS
              : f.kind === 'bool' ? BOOL_ATTACKS
                : OBJECT_ATTACKS;
    for (const [name, value, pureOnly] of values) {
      out.push({ name: `${f.path}: ${name}`, input: withBase(f.base ?? {}, at(f.path, value)), field: f.path, ...(pureOnly ? { pureOnly } : {}) });
    }
  }
  return out;
}

function hugeCase(field: string): HostileCase {
  return { name: `${field}: a 10 MB string`, input: at(field, hugeString()), field, pureOnly: true };
}

/** The history budget and the carried state of a continued run (bounded histories). */
const HISTORY_CASES: HostileCase[] = [
  { name: 'a history budget too small to make progress', input: { history: { maxEvents: 5 } }, field: 'history.maxEvents' },
  { name: 'a history budget past Temporal\'s limit', input: { history: { maxEvents: 60_000 } }, field: 'history.maxEvents' },
  { name: 'a history byte budget past Temporal\'s limit', input: { history: { maxBytes: 60 * 1024 * 1024 } }, field: 'history.maxBytes' },
  { name: 'an unknown history field', input: { history: { maxRuns: 3 } }, field: 'history.maxRuns' },
  { name: 'continued state with a stage the workflow does not have', input: { continued: { stage: 'drop-everything' } }, field: 'continued.stage' },
  { name: 'continued state that is not an object', input: { continued: 'final' }, field: 'continued' },
];

const PRODUCTION: HostileCase[] = [
  ...HISTORY_CASES,
  ...structural('backfill'),
  ...crossProduct([
    { path: 'target', kind: 'identifier' },
    { path: 'connectionProfile', kind: 'profile' },
    { path: 'apps.adminTokenRef', kind: 'profile' },
    { path: 'backfill.batchSize', kind: 'int' },
    { path: 'barrierTimeoutSeconds', kind: 'int' },
    { path: 'monitoring.windowMinutes', kind: 'num', base: { nonProduction: true } },
    { path: 'health.maxLatencyRatio', kind: 'num' },
    { path: 'dryRun', kind: 'bool' },
    { path: 'approvals.beforeFinalCutover', kind: 'bool' },
    { path: 'backfill', kind: 'object' },
  ]),
  hugeCase('target'),
  hugeCase('connectionProfile'),
  { name: 'apps.discovery: SQL', input: { apps: { discovery: "static'; drop table x" } }, field: 'apps.discovery' },
  { name: 'missing required: static discovery without endpoints', input: { apps: { discovery: 'static' } }, field: 'apps.endpoints' },
  { name: 'missing required: an endpoint without adminUrl', input: { apps: { discovery: 'static', endpoints: [{ instanceId: 'a' }] } }, field: 'apps.endpoints[0].adminUrl' },
  { name: 'an endpoint URL with credentials', input: { apps: { discovery: 'static', endpoints: [{ instanceId: 'a', adminUrl: 'http://admin:tok@10.0.0.5:8080' }] } }, field: 'apps.endpoints[0].adminUrl' },
  { name: 'an endpoint URL with a javascript: scheme', input: { apps: { discovery: 'static', endpoints: [{ instanceId: 'a', adminUrl: 'javascript:alert(1)' }] } }, field: 'apps.endpoints[0].adminUrl' },
  { name: 'an endpoint instanceId with SQL', input: { apps: { discovery: 'static', endpoints: [{ instanceId: "a'; drop table x", adminUrl: 'http://10.0.0.5:8080' }] } }, field: 'apps.endpoints[0].instanceId' },
  { name: '65 endpoints (one over the limit)', input: { apps: { discovery: 'static', endpoints: Array.from({ length: 65 }, (_, i) => ({ instanceId: `i${i}`, adminUrl: 'http://10.0.0.5:8080' })) } }, field: 'apps.endpoints' },
  { name: '100 000 endpoints', input: { apps: { discovery: 'static', endpoints: Array.from({ length: 100_000 }, (_, i) => ({ instanceId: `i${i}`, adminUrl: 'http://10.0.0.5:8080' })) } }, field: 'apps.endpoints', pureOnly: true },
  { name: 'chunkRows below batchSize', input: { backfill: { batchSize: 5000, chunkRows: 100 } }, field: 'backfill.chunkRows' },
  { name: 'a 1-hour window without nonProduction', input: { monitoring: { windowMinutes: 60 } }, field: 'monitoring.windowMinutes' },
  { name: 'an extra field inside monitoring', input: { monitoring: { windowMinutes: 1440, skipChecks: true } }, field: 'monitoring.skipChecks' },
];

const CONVERSION: HostileCase[] = [
  ...HISTORY_CASES,
  ...structural('copy'),
  ...crossProduct([
    { path: 'target', kind: 'identifier' },
    { path: 'connectionProfile', kind: 'profile' },
    { path: 'copy.batchSize', kind: 'int' },
    { path: 'retentionMinutes', kind: 'int' },
    { path: 'swap.lockTimeoutMs', kind: 'int' },
    { path: 'nonProduction', kind: 'bool' },
    { path: 'approvals.beforeSwap', kind: 'bool' },
    { path: 'swap', kind: 'object' },
  ]),
  hugeCase('target'),
  hugeCase('connectionProfile'),
  { name: 'sync: SQL', input: { sync: "trigger'; drop table x" }, field: 'sync' },
  { name: 'sync: an unknown kind', input: { sync: 'logical-replication' }, field: 'sync' },
  { name: 'appBarrierTimeoutSeconds without the app sync', input: { appBarrierTimeoutSeconds: 30 }, field: 'appBarrierTimeoutSeconds' },
  { name: 'appBarrierTimeoutSeconds below 5', input: { sync: 'app-dual-write', appBarrierTimeoutSeconds: 1 }, field: 'appBarrierTimeoutSeconds' },
  { name: 'appBarrierTimeoutSeconds beyond the barrier activity', input: { sync: 'app-dual-write', appBarrierTimeoutSeconds: 600 }, field: 'appBarrierTimeoutSeconds' },
  { name: 'a 1-hour retention without nonProduction', input: { retentionMinutes: 60 }, field: 'retentionMinutes' },
  { name: 'maxBackoffMs below backoffMs', input: { swap: { backoffMs: 5000, maxBackoffMs: 10 } }, field: 'swap.maxBackoffMs' },
  { name: 'zero repair rounds', input: { parity: { maxRepairRounds: 0 } }, field: 'parity.maxRepairRounds' },
  { name: 'an extra field inside copy', input: { copy: { batchSize: 100, skipVerify: true } }, field: 'copy.skipVerify' },
  { name: 'the shadow table as target', input: { target: 'memory_records_partitioned' }, field: 'target' },
];

const MAINTENANCE: HostileCase[] = [
  ...structural('target').filter((c) => !c.name.startsWith('__proto__ inside')),
  { name: '__proto__ beside the fields', input: JSON.parse('{"premakeMonths": 2, "__proto__": {"dropDetached": true}}'), field: '__proto__' },
  ...crossProduct([
    { path: 'target', kind: 'identifier' },
    { path: 'connectionProfile', kind: 'profile' },
    { path: 'premakeMonths', kind: 'int' },
    { path: 'retentionMonths', kind: 'int' },
    { path: 'lockTimeoutMs', kind: 'int' },
    { path: 'dropDetached', kind: 'bool', base: { retentionMonths: 12 } },
  ]),
  hugeCase('target'),
  hugeCase('now'),
  { name: 'dropDetached without retentionMonths', input: { dropDetached: true }, field: 'dropDetached' },
  { name: 'now: not a date', input: { now: 'yesterday' }, field: 'now' },
  { name: 'now: month 13', input: { now: '2027-13-45T00:00:00Z' }, field: 'now' },
  { name: 'now: SQL', input: { now: "2027-01-01'; drop table x; --" }, field: 'now' },
  { name: 'now: a number', input: { now: 1e308 }, field: 'now' },
  { name: 'now: fullwidth digits', input: { now: '\uff12\uff10\uff12\uff17-01-01' }, field: 'now' },
  { name: 'a partitioned parent that is not memory_records', input: { target: 'users' }, field: 'target' },
];

export const CORPUS: Record<WorkflowName, HostileCase[]> = {
  productionCutover: PRODUCTION,
  heapToPartitionedConversion: CONVERSION,
  partitionMaintenance: MAINTENANCE,
};

/** Cases a real Temporal server can carry (JSON-representable, under the payload limit). */
export function transportableCases(wf: WorkflowName): HostileCase[] {
  return CORPUS[wf].filter((c) => !c.pureOnly);
}
