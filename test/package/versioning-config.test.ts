import { describe, expect, it } from 'vitest';
import { versioningFromEnv, VersioningConfigError } from '../../src/worker/versioning';
import type { BuildInfo } from '../../src/build/build-info';

/** The worker's Worker Versioning settings from its environment (src/worker/versioning.ts). */
const built: BuildInfo = { version: '1.2.3', commit: 'abcdef012345', source: 'dist/build-info.json' };
const fromSource: BuildInfo = { version: '1.2.3', commit: 'abcdef012345-dirty', source: 'source' };

describe('versioningFromEnv', () => {
  it('is on by default when built (deployment = task queue, build id = version-commit, pinned) and off from source', () => {
    expect(versioningFromEnv({}, 'lichen-cutover', built)).toEqual({ deployment: { deploymentName: 'lichen-cutover', buildId: '1.2.3-abcdef012345' }, setCurrent: 'if-none', describe: 'lichen-cutover:1.2.3-abcdef012345 (pinned)' });
    expect(versioningFromEnv({}, 'lichen-cutover', fromSource)).toEqual({ setCurrent: 'if-none', describe: 'off (unversioned worker)' });
  });

  it('appends the workflow bundle hash to the build id when the commit does not name the code alone (dirty, unknown)', () => {
    expect(versioningFromEnv({}, 'q', { ...built, bundleSha: '0123456789ab' }).deployment?.buildId).toBe('1.2.3-abcdef012345');
    expect(versioningFromEnv({}, 'q', { ...built, commit: 'abcdef012345-dirty', bundleSha: '0123456789ab' }).deployment?.buildId).toBe('1.2.3-abcdef012345-dirty-0123456789ab');
    expect(versioningFromEnv({}, 'q', { ...built, commit: 'unknown', bundleSha: '0123456789ab' }).deployment?.buildId).toBe('1.2.3-unknown-0123456789ab');
  });

  it('takes LICHEN_WORKER_VERSIONING, LICHEN_DEPLOYMENT_NAME, LICHEN_BUILD_ID and LICHEN_SET_CURRENT_VERSION', () => {
    expect(versioningFromEnv({ LICHEN_WORKER_VERSIONING: 'off' }, 'q', built).deployment).toBeUndefined();
    expect(versioningFromEnv({ LICHEN_WORKER_VERSIONING: 'ON', LICHEN_DEPLOYMENT_NAME: 'cutover-prod', LICHEN_BUILD_ID: '2.0.0+build.7', LICHEN_SET_CURRENT_VERSION: 'never' }, 'q', fromSource))
      .toEqual({ deployment: { deploymentName: 'cutover-prod', buildId: '2.0.0+build.7' }, setCurrent: 'never', describe: 'cutover-prod:2.0.0+build.7 (pinned)' });
  });

  it('refuses bad values naming the variable and what is allowed', () => {
    const bad = (env: NodeJS.ProcessEnv, msg: RegExp) => {
      expect(() => versioningFromEnv(env, 'q', built)).toThrow(VersioningConfigError);
      expect(() => versioningFromEnv(env, 'q', built)).toThrow(msg);
    };
    bad({ LICHEN_WORKER_VERSIONING: 'yes' }, /^LICHEN_WORKER_VERSIONING must be one of on \| off, got "yes"$/);
    bad({ LICHEN_SET_CURRENT_VERSION: 'always' }, /^LICHEN_SET_CURRENT_VERSION must be one of if-none \| never, got "always"$/);
    bad({ LICHEN_DEPLOYMENT_NAME: 'lichen.cutover' }, /^LICHEN_DEPLOYMENT_NAME .*no dots.*"lichen\.cutover"$/);
    bad({ LICHEN_BUILD_ID: 'has space' }, /^LICHEN_BUILD_ID must match .*"has space"$/);
  });
});
