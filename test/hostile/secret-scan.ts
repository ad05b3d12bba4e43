import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';

/** Where a secret was found. */
export interface SecretHit {
  where: string;
  secret: string;
}

/** A secret and the forms it could appear in: plain, URL-encoded, base64. */
function forms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])];
}

/** JSON with every byte array (payload data, metadata) decoded as UTF-8 text, so encoded inputs and results are searchable. */
export function decodedJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('utf8');
    }
    return typeof v === 'bigint' ? v.toString() : v;
  });
}

function hitsIn(text: string, where: string, secrets: Record<string, string>): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    if (!secret || secret.length < 6) throw new Error(`secret ${name} is too short to scan for meaningfully`);
    if (forms(secret).some((f) => text.includes(f))) hits.push({ where, secret: name });
  }
  return hits;
}

/** Every workflow of the namespace: its full history (decoded payloads) and its description. */
export async function scanNamespace(client: Client, secrets: Record<string, string>): Promise<{ workflows: number; events: number; hits: SecretHit[] }> {
  let workflows = 0;
  let events = 0;
  const hits: SecretHit[] = [];
  for await (const wf of client.workflow.list()) {
    workflows++;
    const handle = client.workflow.getHandle(wf.workflowId, wf.runId);
    const history = await handle.fetchHistory();
    events += history.events?.length ?? 0;
    hits.push(...hitsIn(decodedJson(history), `history of ${wf.workflowId}`, secrets));
    hits.push(...hitsIn(decodedJson(wf.raw), `description of ${wf.workflowId}`, secrets));
  }
  return { workflows, events, hits };
}

/** Every file under `dir` (logs captured by the tests). */
export function scanFiles(dir: string, secrets: Record<string, string>): { files: number; bytes: number; hits: SecretHit[] } {
  let files = 0;
  let bytes = 0;
  const hits: SecretHit[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        const text = fs.readFileSync(p, 'utf8');
        files++;
        bytes += text.length;
        hits.push(...hitsIn(text, p, secrets));
      }
    }
  };
  walk(dir);
  return { files, bytes, hits };
}
