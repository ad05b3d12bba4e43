/**
 * `npx tsx bench/rerender.ts [codes]`: re-writes bench/results/latest.md (and .json) from latest.json
 * with the current analyses of missed targets (bench/notes.ts) for the entries of `codes`
 * (default B2,B8,B9): after an analysis is written or corrected, without measuring again.
 */
import path from 'node:path';
import { projectRoot } from '../src/devenv/paths';
import { codeOf, readResults } from './carry';
import { explain } from './notes';
import { writeResults } from './report';

const codes = (process.argv[2] ?? 'B2,B8,B9').split(',');
const dir = path.join(projectRoot, 'bench', 'results');
const r = readResults(path.join(dir, 'latest.json'));
if (!r) throw new Error('no bench/results/latest.json to re-render');
for (const e of r.entries) {
  if (e.met || !codes.includes(codeOf(e.name) ?? '')) continue;
  const base = e.notes.split(' MISSED: ')[0];
  e.notes = `${base} ${explain(e)}`;
}
writeResults(dir, r);
process.stderr.write(`re-rendered ${path.relative(projectRoot, dir)}/latest.md\n`);
