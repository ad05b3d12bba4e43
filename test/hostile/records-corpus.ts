/**
 * Hostile values for the records API (POST /records): each case is either refused with a 4xx
 * naming the field, or stored and read back identical — in every persistence mode. The
 * workflow-input corpus is corpus.ts beside this file. A case's body is read once per mode (a
 * getter can give each mode a fresh id).
 */

import crypto from 'node:crypto';

export interface RefusedCase {
  name: string;
  body: unknown;
  status: 400;
  field: string;
}

export interface StoredCase {
  name: string;
  body: Record<string, unknown>;
}

const nest = (depth: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: 'x' };
  for (let i = 1; i < depth; i++) v = { n: v };
  return v;
};
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

export const REFUSED: RefusedCase[] = [
  { name: 'a NUL in content', body: { ownerId: 'o', content: 'a\u0000b' }, status: 400, field: 'content' },
  { name: 'a NUL alone as content', body: { ownerId: 'o', content: '\u0000' }, status: 400, field: 'content' },
  { name: 'a NUL in ownerId', body: { ownerId: 'o\u0000', content: 'c' }, status: 400, field: 'ownerId' },
  { name: 'a NUL in agentId', body: { ownerId: 'o', agentId: '\u0000a', content: 'c' }, status: 400, field: 'agentId' },
  { name: 'a NUL in kind', body: { ownerId: 'o', kind: 'n\u0000te', content: 'c' }, status: 400, field: 'kind' },
  { name: 'a lone high surrogate in content', body: { ownerId: 'o', content: 'x\ud800y' }, status: 400, field: 'content' },
  { name: 'a lone low surrogate at the end of content', body: { ownerId: 'o', content: 'x\udc00' }, status: 400, field: 'content' },
  { name: 'reversed surrogates in ownerId', body: { ownerId: '\udc00\ud800', content: 'c' }, status: 400, field: 'ownerId' },
  { name: 'a NUL in a metadata value', body: { ownerId: 'o', content: 'c', metadata: { a: 'x\u0000' } }, status: 400, field: 'metadata.a' },
  { name: 'a NUL in a nested metadata value', body: { ownerId: 'o', content: 'c', metadata: { a: { b: { c: '\u0000' } } } }, status: 400, field: 'metadata.a.b.c' },
  { name: 'a NUL in a metadata array', body: { ownerId: 'o', content: 'c', metadata: { a: [1, 'ok', '\u0000'] } }, status: 400, field: 'metadata.a[2]' },
  { name: 'a NUL in a metadata key', body: { ownerId: 'o', content: 'c', metadata: { 'k\u0000': 1 } }, status: 400, field: 'metadata."k\\u0000" (key)' },
  { name: 'a NUL in a nested metadata key', body: { ownerId: 'o', content: 'c', metadata: { a: [{ '\u0000': true }] } }, status: 400, field: 'metadata.a[0]."\\u0000" (key)' },
  { name: 'a lone surrogate in a metadata key', body: { ownerId: 'o', content: 'c', metadata: { '\ud83d': 1 } }, status: 400, field: 'metadata."\\ud83d" (key)' },
  { name: 'a lone surrogate in a metadata value', body: { ownerId: 'o', content: 'c', metadata: { a: { b: '\udfff' } } }, status: 400, field: 'metadata.a.b' },
  { name: 'metadata nested 65 deep', body: { ownerId: 'o', content: 'c', metadata: nest(65) }, status: 400, field: 'metadata' },
  // As text: JSON.stringify of it overflows a test worker's stack.
  { name: 'metadata nested 5000 deep', body: `{"ownerId":"o","content":"c","metadata":${'{"n":'.repeat(5000)}1${'}'.repeat(5000)}}`, status: 400, field: 'metadata' },
  { name: 'content over 1,000,000 characters', body: { ownerId: 'o', content: 'x'.repeat(1_000_001) }, status: 400, field: 'content' },
  { name: 'a body over 2 MiB', body: { ownerId: 'o', content: 'c', metadata: { pad: 'y'.repeat(2_200_000) } }, status: 400, field: 'body' },
  { name: 'ownerId over 200 characters', body: { ownerId: 'o'.repeat(201), content: 'c' }, status: 400, field: 'ownerId' },
  { name: 'createdAt in year 1', body: { ownerId: 'o', content: 'c', createdAt: '0001-01-01T00:00:00.000Z' }, status: 400, field: 'createdAt' },
  { name: 'createdAt just before 2000', body: { ownerId: 'o', content: 'c', createdAt: '1999-12-31T23:59:59.999Z' }, status: 400, field: 'createdAt' },
  { name: 'createdAt 2000-01-01 in a zone west of UTC (1999 in UTC)', body: { ownerId: 'o', content: 'c', createdAt: '2000-01-01T00:00:00.000+01:00' }, status: 400, field: 'createdAt' },
  { name: 'createdAt in year 9999', body: { ownerId: 'o', content: 'c', createdAt: '9999-12-31T23:59:59.999Z' }, status: 400, field: 'createdAt' },
  { name: 'createdAt two years ahead', body: { ownerId: 'o', content: 'c', createdAt: iso(Date.now() + 730 * DAY) }, status: 400, field: 'createdAt' },
  { name: 'createdAt in extended years', body: { ownerId: 'o', content: 'c', createdAt: '+275760-09-13T00:00:00.000Z' }, status: 400, field: 'createdAt' },
  { name: 'createdAt without a zone', body: { ownerId: 'o', content: 'c', createdAt: '2024-01-01T00:00:00' }, status: 400, field: 'createdAt' },
  { name: 'createdAt as a number', body: { ownerId: 'o', content: 'c', createdAt: 1_700_000_000_000 }, status: 400, field: 'createdAt' },
  { name: 'createdAt on 30 February', body: { ownerId: 'o', content: 'c', createdAt: '2024-02-30T00:00:00.000Z' }, status: 400, field: 'createdAt' },
  { name: 'ownerId as an array', body: { ownerId: ['o'], content: 'c' }, status: 400, field: 'ownerId' },
  { name: 'content as an object', body: { ownerId: 'o', content: { text: 'c' } }, status: 400, field: 'content' },
  { name: 'content as null', body: { ownerId: 'o', content: null }, status: 400, field: 'content' },
  { name: 'kind as a number', body: { ownerId: 'o', content: 'c', kind: 7 }, status: 400, field: 'kind' },
  { name: 'metadata as a string', body: { ownerId: 'o', content: 'c', metadata: '{"a":1}' }, status: 400, field: 'metadata' },
  { name: 'metadata as null', body: { ownerId: 'o', content: 'c', metadata: null }, status: 400, field: 'metadata' },
  { name: 'id as a number', body: { id: 12345, ownerId: 'o', content: 'c' }, status: 400, field: 'id' },
  { name: 'id with a NUL', body: { id: '00000000-0000-4000-8000-00000000000\u0000', ownerId: 'o', content: 'c' }, status: 400, field: 'id' },
  { name: 'an empty ownerId', body: { ownerId: '', content: 'c' }, status: 400, field: 'ownerId' },
  { name: 'an unknown field with a NUL in its name', body: { ownerId: 'o', content: 'c', 'x\u0000': 1 }, status: 400, field: 'x\u0000' },
];

export const STORED: StoredCase[] = [
  { name: 'astral characters and combining marks', body: { ownerId: 'öwner-😀', content: '😀 ünïcödé 中文 e\u0301 \u{10FFFF}' } },
  { name: 'an escaped NUL (backslash u, not the character)', body: { ownerId: 'o', content: 'a\\u0000b', metadata: { k: '\\u0000' } } },
  { name: 'every other control character', body: { ownerId: 'o', content: Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('') + '\u007f\u2028\u2029\ufeff\uffff' } },
  { name: 'a content of exactly 1,000,000 characters', body: { ownerId: 'o', content: 'z'.repeat(1_000_000) } },
  { name: 'metadata nested 64 deep', body: { ownerId: 'o', content: 'c', metadata: nest(64) } },
  { name: 'metadata with odd keys and numbers', body: { ownerId: 'o', content: 'c', metadata: { '': 0, 'a.b': 1e308, ' ': -1.5e-300, '😀': [null, true, 0.1, 9007199254740991], constructor: 'x' } } },
  { name: 'createdAt at the lower bound', body: { ownerId: 'o', content: 'c', createdAt: '2000-01-01T00:00:00.000Z' } },
  { name: 'createdAt in the next month of a zone east of UTC', body: { ownerId: 'o', content: 'c', createdAt: '2024-03-01T00:30:00.000+01:00' } },
  { name: 'createdAt with microseconds', body: { ownerId: 'o', content: 'c', createdAt: '2024-02-29T23:59:59.999999Z' } },
  { name: 'createdAt eleven months ahead', body: { ownerId: 'o', content: 'c', createdAt: iso(Date.now() + 330 * DAY) } },
  {
    name: 'an upper-case id',
    get body() {
      return { id: crypto.randomUUID().toUpperCase(), ownerId: 'o', content: 'c' };
    },
  },
];
