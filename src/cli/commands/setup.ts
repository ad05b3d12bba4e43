import { temporal } from '@temporalio/proto';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../shared/search-attributes';
import type { Command } from '../command';

/**
 * Registers the project's custom search attributes (CutoverPhase, CutoverTarget, CutoverKind,
 * CutoverState; Keyword) on the namespace. Idempotent: attributes already present are left
 * alone, one of the same name with another type is reported (exit 1), never changed.
 */
export const setup: Command = {
  name: 'setup',
  summary: 'register the custom search attributes on the cluster (idempotent)',
  usage: 'usage: cutover setup [--namespace NS] [--json]\n\nRegisters CutoverPhase, CutoverTarget, CutoverKind and CutoverState (Keyword) via the operator service.',
  options: {},
  async run({ io, client }) {
    const c = await client();
    const namespace = c.options.namespace;
    const ops = c.connection.operatorService;
    const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    const existing = await ops.listSearchAttributes({ namespace });
    const present = { ...(existing.systemAttributes ?? {}), ...(existing.customAttributes ?? {}) } as Record<string, number>;
    const added: string[] = [];
    const already: string[] = [];
    const conflicts: string[] = [];
    const missing: Record<string, number> = {};
    for (const sa of CUSTOM_SEARCH_ATTRIBUTES) {
      const t = present[sa.name];
      if (t === undefined) missing[sa.name] = KEYWORD;
      else if (t === KEYWORD) already.push(sa.name);
      else conflicts.push(`${sa.name} exists with type ${temporal.api.enums.v1.IndexedValueType[t] ?? t}, expected Keyword`);
    }
    if (Object.keys(missing).length) {
      await ops.addSearchAttributes({ namespace, searchAttributes: missing });
      added.push(...Object.keys(missing));
    }
    io.result(
      { namespace, added, alreadyPresent: already, conflicts },
      [`namespace ${namespace}:`, added.length ? `  added ${added.join(', ')}` : '', already.length ? `  already present: ${already.join(', ')}` : '', ...conflicts.map((x) => `  conflict: ${x}`)].filter(Boolean).join('\n'),
    );
    return conflicts.length ? 1 : 0;
  },
};
