import { Client, Connection } from '@temporalio/client';
import { tracingPlugins } from '../telemetry/tracing';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { TemporalConnectionError } from './errors';

/**
 * Where the client and the worker connect, from Temporal's standard environment configuration
 * (`@temporalio/envconfig`): a TOML profile file (`TEMPORAL_CONFIG_FILE`, default
 * `~/.config/temporalio/temporal.toml`, profile `TEMPORAL_PROFILE`), overridden by
 * `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*` and
 * `TEMPORAL_GRPC_META_*`. An API key turns TLS on (Temporal Cloud). Without any of them:
 * `localhost:7233`, namespace `default` (the dev server).
 */
export interface TemporalConnectOptions {
  /** envconfig profile name (default: `TEMPORAL_PROFILE` or "default"). */
  profile?: string;
  /** A TOML config file instead of the default location. */
  configFile?: string;
  /** Overrides of the configured address / namespace (e.g. a CLI flag). */
  address?: string;
  namespace?: string;
  /** The environment to read (tests); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedTemporalConfig {
  address: string;
  namespace: string;
  connectionOptions: ClientConnectConfig['connectionOptions'];
  /** One line for logs: address, namespace, TLS and whether an API key is set — never the key. */
  describe(): string;
}

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';

export function resolveTemporalConfig(opts: TemporalConnectOptions = {}): ResolvedTemporalConfig {
  const env = opts.env ?? process.env;
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const cfg = loadClientConnectConfig({
    profile: opts.profile,
    configSource: opts.configFile ? { path: opts.configFile } : undefined,
    overrideEnvVars: vars,
  });
  const address = opts.address ?? cfg.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  const namespace = opts.namespace ?? cfg.namespace ?? 'default';
  const connectionOptions = { ...cfg.connectionOptions, address };
  return {
    address,
    namespace,
    connectionOptions,
    describe: () =>
      `temporal ${address} namespace ${namespace}` +
      `${connectionOptions.tls ? ' tls' : ''}${connectionOptions.apiKey ? ' api-key' : ''}`,
  };
}

/** A Temporal client configured by envconfig. Connection failures throw TemporalConnectionError. */
export async function connectClient(opts: TemporalConnectOptions & { connectTimeoutMs?: number } = {}): Promise<Client> {
  const cfg = resolveTemporalConfig(opts);
  try {
    const connection = await Connection.connect({
      ...(cfg.connectionOptions as Parameters<typeof Connection.connect>[0]),
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
    });
    return new Client({ connection, namespace: cfg.namespace, plugins: tracingPlugins('lichen-cutover-client') });
  } catch (err) {
    throw new TemporalConnectionError(cfg.describe(), err);
  }
}
