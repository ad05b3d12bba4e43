import type { WorkerOptions } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { defaultBuildId, readBuildInfo, type BuildInfo } from '../build/build-info';

/**
 * Worker Versioning (Temporal Worker Deployments): the worker declares a deployment version
 * (deployment name + build id) and every workflow it starts stays PINNED to that version: a run
 * that began on build A finishes on build A's workers, whatever is deployed meanwhile (README
 * "Deploying a new version").
 *
 * Environment (src/worker/main.ts):
 *   LICHEN_WORKER_VERSIONING     on | off. Default: on when the worker runs built (dist/, the
 *                                package, the image: dist/build-info.json exists), off from source
 *                                (development, the demo, tests: a clone's commit changes all the time).
 *   LICHEN_DEPLOYMENT_NAME       default: the task queue (lichen-cutover).
 *   LICHEN_BUILD_ID              default: <package version>-<git commit> from dist/build-info.json
 *                                (+ the workflow bundle's hash when the commit is dirty or unknown).
 *   LICHEN_SET_CURRENT_VERSION   if-none (default): when the deployment has no current version yet
 *                                (a first deploy), this worker's version is made current, so an
 *                                unversioned start lands on it (an operator's `--unversioned` is a
 *                                current version: left as it is); never: leave it to the operator.
 */
export interface WorkerDeployment {
  deploymentName: string;
  buildId: string;
}

export interface VersioningConfig {
  deployment?: WorkerDeployment;
  setCurrent: 'if-none' | 'never';
  /** For the start-up line. */
  describe: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/;
const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;

export class VersioningConfigError extends Error {
  override name = 'VersioningConfigError';
}

function choice<T extends string>(env: NodeJS.ProcessEnv, key: string, allowed: readonly T[], fallback: T): T {
  const raw = env[key]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new VersioningConfigError(`${key} must be one of ${allowed.join(' | ')}, got ${JSON.stringify(env[key])}`);
  return raw as T;
}

export function versioningFromEnv(env: NodeJS.ProcessEnv, taskQueue: string, build: BuildInfo = readBuildInfo()): VersioningConfig {
  const on = choice(env, 'LICHEN_WORKER_VERSIONING', ['on', 'off'] as const, build.source === 'dist/build-info.json' ? 'on' : 'off') === 'on';
  const setCurrent = choice(env, 'LICHEN_SET_CURRENT_VERSION', ['if-none', 'never'] as const, 'if-none');
  if (!on) return { setCurrent, describe: 'off (unversioned worker)' };
  const deploymentName = env.LICHEN_DEPLOYMENT_NAME?.trim() || taskQueue;
  const buildId = env.LICHEN_BUILD_ID?.trim() || defaultBuildId(build);
  if (!NAME.test(deploymentName)) throw new VersioningConfigError(`LICHEN_DEPLOYMENT_NAME (default: the task queue) must match ${NAME.source} (no dots), got ${JSON.stringify(deploymentName)}`);
  if (!BUILD_ID.test(buildId)) throw new VersioningConfigError(`LICHEN_BUILD_ID must match ${BUILD_ID.source}, got ${JSON.stringify(buildId)}`);
  return { deployment: { deploymentName, buildId }, setCurrent, describe: `${deploymentName}:${buildId} (pinned)` };
}

/** The Worker options that declare `d` with every workflow pinned to the version that started it. */
export function deploymentOptions(d: WorkerDeployment): Pick<WorkerOptions, 'workerDeploymentOptions'> {
  return { workerDeploymentOptions: { useWorkerVersioning: true, version: { deploymentName: d.deploymentName, buildId: d.buildId }, defaultVersioningBehavior: 'PINNED' } };
}

type WorkflowService = temporal.api.workflowservice.v1.WorkflowService;

/**
 * The deployment's current build id; undefined when it has none (or the deployment does not exist
 * yet). `chosen`: the current version was set at least once — with no build id, an operator routed
 * new runs to unversioned workers (`set-current-version --unversioned`), which is not "none yet".
 */
export async function currentBuildId(service: WorkflowService, namespace: string, deploymentName: string): Promise<{ buildId?: string; chosen?: boolean; conflictToken?: Uint8Array | null; exists: boolean }> {
  try {
    const r = await service.describeWorkerDeployment({ namespace, deploymentName });
    const routing = r.workerDeploymentInfo?.routingConfig;
    return { buildId: routing?.currentDeploymentVersion?.buildId || undefined, chosen: !!routing?.currentVersionChangedTime, conflictToken: r.conflictToken, exists: true };
  } catch (err) {
    if ((err as { code?: number }).code === 5 /* NOT_FOUND */) return { exists: false };
    throw err;
  }
}

/**
 * Makes `d` the deployment's current version (what `temporal worker deployment
 * set-current-version` does), retrying while the server has not yet seen the version's pollers.
 * With `onlyIfNone`, a deployment that already has a current version is left as it is — also
 * when that is "unversioned" by an operator's choice. Returns the build id current afterwards
 * ("unversioned" for that choice).
 */
export async function makeCurrent(service: WorkflowService, namespace: string, d: WorkerDeployment, opts: { onlyIfNone?: boolean; identity?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const cur = await currentBuildId(service, namespace, d.deploymentName);
      if (cur.buildId && (opts.onlyIfNone || cur.buildId === d.buildId)) return cur.buildId;
      if (!cur.buildId && cur.chosen && opts.onlyIfNone) return 'unversioned';
      if (cur.exists) {
        await service.setWorkerDeploymentCurrentVersion({ namespace, deploymentName: d.deploymentName, buildId: d.buildId, conflictToken: cur.conflictToken, identity: opts.identity ?? 'lichen-cutover' });
        return d.buildId;
      }
      last = new Error(`worker deployment ${d.deploymentName} does not exist yet (no worker of it has polled)`);
    } catch (err) {
      last = err;
    }
    if (opts.signal?.aborted) throw new Error(`gave up making ${d.deploymentName}:${d.buildId} current: the worker stopped`);
    if (Date.now() > deadline) throw new Error(`could not make ${d.deploymentName}:${d.buildId} current: ${(last as Error)?.message ?? last}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * For an unversioned worker (LICHEN_WORKER_VERSIONING off: `npm run worker`, a stale or absent
 * dist/): once the deployment of its task queue has a current version, Temporal routes every new
 * run to that version's workers and an unversioned worker receives none — it would sit idle while
 * the runs wait. Returns the warning to log (naming the version and the command that routes new
 * runs back to unversioned workers), or undefined when nothing routes them away.
 */
export async function unversionedRoutingWarning(service: WorkflowService, namespace: string, deploymentName: string): Promise<string | undefined> {
  const cur = await currentBuildId(service, namespace, deploymentName);
  if (!cur.buildId) return undefined;
  return `this worker is unversioned but worker deployment ${deploymentName} has current version ${cur.buildId}: new runs go to that version's workers, none to this one. ` +
    `Run a versioned worker (LICHEN_WORKER_VERSIONING=on), or route new runs to unversioned workers: temporal worker deployment set-current-version --deployment-name ${deploymentName} --unversioned`;
}
