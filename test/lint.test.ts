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
});
