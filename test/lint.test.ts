import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { projectRoot } from '../src/devenv/paths';

describe('lint rules for workflow files', () => {
  const eslint = new ESLint({ cwd: projectRoot });
  const lint = async (file: string, code: string) => {
    const [res] = await eslint.lintText(code, { filePath: path.join(projectRoot, file) });
    return res.messages.map((m) => m.ruleId);
  };

  it('bans Node built-ins and I/O libraries inside workflows', async () => {
    const rules = await lint('workflows/bad-example.ts', `import fs from 'fs';\nimport os from 'node:os';\nimport { Pool } from 'pg';\nexport const x = [fs, os, Pool];\n`);
    expect(rules.filter((r) => r === 'no-restricted-imports').length).toBeGreaterThanOrEqual(3);
  });

  it('allows activity type imports in workflows and Node built-ins in activities', async () => {
    expect(await lint('workflows/ok-example.ts', `import type { Activities } from '../activities';\nexport type A = Activities;\n`)).toEqual([]);
    expect(await lint('activities/ok-example.ts', `import fs from 'node:fs';\nexport const x = fs;\n`)).toEqual([]);
  });

  it('bans value imports from activities/ in workflows (the layering: workflows above activities)', async () => {
    const banned = [
      `import { planConversion } from '../../activities/conversion/plan/plan';\nexport const x = planConversion;\n`,
      `import { createActivities } from '../activities';\nexport const x = createActivities;\n`,
      `export { conversionNames } from '../../activities/conversion/plan/names';\n`,
    ];
    for (const code of banned) expect(await lint('workflows/conversion/bad-example.ts', code)).toContain('no-restricted-imports');
    expect(await lint('workflows/conversion/ok-example.ts', `import type { GenericInput } from '../../activities/conversion/generic/activities';\nimport { readConversionChoice } from '../../src/conversion/choice/choice';\nexport type G = GenericInput;\nexport const x = readConversionChoice;\n`)).toEqual([]);
  });

  it('keeps the conversion choice and the input reader below workflows and activities, and pure', async () => {
    for (const code of [
      `import { qi } from '../../../activities/conversion/plan/names';\nexport const x = qi;\n`,
      `import { toFailure } from '../../../workflows/common/validate';\nexport const x = toFailure;\n`,
      `import fs from 'node:fs';\nexport const x = fs;\n`,
      `import { Pool } from 'pg';\nexport const x = Pool;\n`,
    ]) {
      expect(await lint('src/conversion/choice/bad-example.ts', code)).toContain('no-restricted-imports');
    }
    expect(await lint('src/shared/input-reader.ts', `import { x } from '../../workflows/common/history-budget';\nexport const y = x;\n`)).toContain('no-restricted-imports');
  });

  it('bans value imports from workflows/ in activities (types only)', async () => {
    expect(await lint('activities/conversion/bad-example.ts', `import { InputError } from '../../workflows/common/validate';\nexport const x = InputError;\n`)).toContain('no-restricted-imports');
    expect(await lint('activities/conversion/ok-example.ts', `import type { PersistenceMode } from '../../workflows/types';\nexport type P = PersistenceMode;\n`)).toEqual([]);
  });

  it('finds no workflow file importing a value from activities/, no activity importing a value from workflows/, and no impure import in the choice', async () => {
    const results = await eslint.lintFiles(['workflows/**/*.ts', 'activities/**/*.ts', 'src/conversion/choice/**/*.ts', 'src/shared/input-reader.ts']);
    const found = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${path.relative(projectRoot, r.filePath)}:${m.line}: ${m.message}`));
    expect(found).toEqual([]);
    expect(results.length).toBeGreaterThan(50);
  });
});
