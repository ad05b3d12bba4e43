/** Small fetch wrappers for the memory-layer tests. */
// Response bodies are untyped JSON that the tests' assertions check field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface Res<T = any> {
  status: number;
  body: T;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function call<T = any>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res<T>> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Prometheus text
  }
  return { status: r.status, body: parsed as T };
}

export const admin = (token: string) => ({ authorization: `Bearer ${token}` });

/** The value of one sample in Prometheus text, or undefined. `labels` must match exactly. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const kv of (m[3] ?? '').match(/[a-z_]+="[^"]*"/g) ?? []) {
      const [k, v] = kv.split('=');
      got[k] = v.slice(1, -1);
    }
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
  }
  return undefined;
}
