import net from 'node:net';

/**
 * Where the worker may send the fleet's admin bearer token when a workflow input lists the app
 * instances itself (`apps.discovery: "static"`). Whoever can start a workflow chooses those
 * URLs, so the worker's own configuration decides which ones are acceptable:
 *
 *   LICHEN_APP_ENDPOINT_ALLOW        hosts and networks the endpoints may point at, comma-separated:
 *                                    `app-1.internal` (exact), `*.apps.internal` (any subdomain),
 *                                    `10.0.0.0/8`, `fd00::/8` (CIDR; IP-literal hosts only, never
 *                                    resolved). Loopback (localhost, 127.0.0.0/8, ::1) is always
 *                                    allowed.
 *   LICHEN_APP_ENDPOINT_ALLOW_HTTP   `true`: plain http also to allowed hosts off loopback
 *                                    (default: https only there; http only on loopback).
 *
 * Endpoints carrying credentials (user:password@) or of another scheme are refused.
 */
export const ENDPOINT_ALLOW_ENV = 'LICHEN_APP_ENDPOINT_ALLOW';
export const ENDPOINT_ALLOW_HTTP_ENV = 'LICHEN_APP_ENDPOINT_ALLOW_HTTP';

export class EndpointRefusedError extends Error {
  constructor(
    readonly instanceId: string,
    readonly endpoint: string,
    reason: string,
  ) {
    super(`static endpoint of ${instanceId} (${endpoint}) refused: ${reason}`);
    this.name = 'EndpointRefusedError';
  }
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function ipFamily(host: string): 'ipv4' | 'ipv6' | null {
  const v = net.isIP(host);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : null;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const fam = ipFamily(host);
  return fam !== null && LOOPBACK.check(host, fam);
}

function matches(host: string, entry: string): boolean {
  const slash = entry.indexOf('/');
  if (slash > 0) {
    const net0 = entry.slice(0, slash);
    const bits = Number(entry.slice(slash + 1));
    const fam = ipFamily(net0);
    const hostFam = ipFamily(host);
    if (!fam || hostFam !== fam || !Number.isInteger(bits)) return false;
    const list = new net.BlockList();
    list.addSubnet(net0, bits, fam);
    return list.check(host, fam);
  }
  const e = entry.toLowerCase().replace(/^\[|\]$/g, '');
  if (e.startsWith('*.')) return host.endsWith(e.slice(1)) && host.length > e.length - 1;
  return host === e;
}

/** Throws EndpointRefusedError unless the worker's configuration allows `adminUrl`. */
export function checkStaticEndpoint(instanceId: string, adminUrl: string, env: NodeJS.ProcessEnv = process.env): void {
  let u: URL;
  try {
    u = new URL(adminUrl);
  } catch {
    throw new EndpointRefusedError(instanceId, '(not a URL)', 'the admin URL does not parse');
  }
  const shown = `${u.protocol}//${u.host}`;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new EndpointRefusedError(instanceId, shown, 'only http(s) URLs are accepted');
  if (u.username || u.password) throw new EndpointRefusedError(instanceId, shown, 'the URL carries credentials; the worker sends its own bearer token');
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (isLoopback(host)) return;
  const allow = (env[ENDPOINT_ALLOW_ENV] ?? '').split(/[\s,]+/).filter((s) => s !== '');
  if (!allow.some((entry) => matches(host, entry))) {
    throw new EndpointRefusedError(instanceId, shown,
      `${host} is not in the worker's ${ENDPOINT_ALLOW_ENV} (${allow.length ? allow.join(', ') : 'unset'}; loopback is always allowed). ` +
        `Add the host or its network (CIDR) to ${ENDPOINT_ALLOW_ENV} in the worker's environment, or use apps.discovery "control-plane"`);
  }
  if (u.protocol === 'http:' && env[ENDPOINT_ALLOW_HTTP_ENV] !== 'true') {
    throw new EndpointRefusedError(instanceId, shown, `plain http off loopback would send the admin token in clear; use https, or set ${ENDPOINT_ALLOW_HTTP_ENV}=true in the worker's environment`);
  }
}
