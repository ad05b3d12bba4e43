import fs from 'node:fs';
import { NotFoundError, UsageError } from './exit-codes';

/** The workflow input of `--input FILE.json` (one JSON object, as the Temporal UI's Start Workflow form takes); {} without it. */
export function readInputFile(cmd: string, file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  if (!fs.existsSync(file)) throw new NotFoundError(`${cmd}: --input ${file} does not exist`);
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${cmd}: --input ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new UsageError(`${cmd}: --input ${file} must hold one JSON object (the workflow input)`);
  return j as Record<string, unknown>;
}
