import { describe, expect, it } from 'vitest';
import { parseColumnName, parseTableName, spellTable, TableNameError } from '../../../activities/conversion/descriptor';
import { parseConversionChoice } from '../../../src/conversion/choice/choice';
import { parseGenericConversionInput } from '../../../workflows/conversion/generic-input';
import { partitionName } from '../../../src/conversion/choice/intervals';
import { conversionNames } from '../../../activities/conversion/plan/names';

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe('table names: any name Postgres accepts, quoted as in SQL', () => {
  it('reads quoted parts literally ("" is a quote), plain parts as spelled', () => {
    expect(parseTableName('"SalesEU"."Order Events"')).toEqual({ schema: 'SalesEU', name: 'Order Events' });
    expect(parseTableName('sales."select"')).toEqual({ schema: 'sales', name: 'select' });
    expect(parseTableName('"a.b"."say ""hi"""')).toEqual({ schema: 'a.b', name: 'say "hi"' });
    expect(parseTableName('"Order Events"')).toEqual({ schema: null, name: 'Order Events' });
    expect(parseTableName('billing.Invoices')).toEqual({ schema: 'billing', name: 'Invoices' });
    expect(spellTable({ schema: 'SalesEU', name: 'Order Events' })).toBe('SalesEU."Order Events"');
    expect(parseTableName(spellTable({ schema: 'a.b', name: 'say "hi"' }))).toEqual({ schema: 'a.b', name: 'say "hi"' });
    expect(parseColumnName('"Placed At"', 'c')).toBe('Placed At');
  });

  it('refuses what is not a name, naming why', () => {
    expect(() => parseTableName('x; drop table y')).toThrow(/is not an identifier/);
    expect(() => parseTableName('"unterminated')).toThrow(/unterminated quoted identifier/);
    expect(() => parseTableName('""')).toThrow(/may not be empty/);
    expect(() => parseTableName('"a"b')).toThrow(/expected "\." after a quoted identifier/);
    expect(() => parseTableName('a.b.c')).toThrow(TableNameError);
    expect(() => parseTableName(`"${'x'.repeat(64)}"`)).toThrow(/at most 63/);
    expect(() => parseColumnName('placed at"', 'partitionBy.column')).toThrow(/partitionBy.column: must be a column name/);
  });

  it('the conversion input accepts "SalesEU"."Order Events" and a quoted column (finding 9)', () => {
    const s = parseGenericConversionInput({ table: '"SalesEU"."Order Events"', partitionBy: { column: '"Placed At"', interval: 'day' } });
    expect(s.choice.table).toEqual({ schema: 'SalesEU', name: 'Order Events' });
    expect(s.choice.column).toBe('Placed At');
    const c = parseConversionChoice({ table: '"SalesEU"."Order Events"', partitionBy: { column: 'at', interval: 'month' }, options: { uniqueKeys: { '"Order Events_code_key"': 'drop' } } });
    expect(c.options.uniqueKeys).toEqual({ 'Order Events_code_key': 'drop' });
  });

  it('derived names are quoted and fit 63 bytes, the suffix kept', () => {
    const long = 'Ünïcødé Order Events '.repeat(3).slice(0, 60);
    const n = conversionNames({ schema: 'SalesEU', name: long });
    expect(n.table).toBe(`"SalesEU"."${long}"`);
    expect(bytes(n.shadowName)).toBeLessThanOrEqual(63);
    expect(n.shadowName.endsWith('_partitioned')).toBe(true);
    const p = partitionName(long, 'day', Date.UTC(2026, 11, 6));
    expect(bytes(p)).toBeLessThanOrEqual(63);
    expect(p.endsWith('_p2026_12_06')).toBe(true);
  });
});
