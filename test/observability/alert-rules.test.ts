import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/devenv/paths';
import { skipWithoutPrometheus } from '../helpers/prometheus';

/**
 * The alert rules' own unit tests (docker/prometheus/alerts.test.yml, `promtool test rules`): each
 * alert fires on the series that should raise it, with its labels and text, and stays silent on
 * those that should not. Every alert in alerts.yml has a case there. The rules against a real
 * Prometheus during a run: test/observability/prometheus.test.ts (npm run test:long).
 */
const DIR = path.join(projectRoot, 'docker/prometheus');

describe.skipIf(skipWithoutPrometheus('alert-rules.test.ts'))('alert rules (promtool)', () => {
  it('promtool accepts the rules and every unit test of alerts.test.yml passes', () => {
    const check = spawnSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: DIR, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const r = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: DIR, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS/);
  });

  it('every alert of alerts.yml has a firing case in alerts.test.yml', async () => {
    const fs = await import('node:fs');
    const rules = [...fs.readFileSync(path.join(DIR, 'alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\S+)/gm)].map((m) => m[1]);
    const tests = fs.readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8');
    expect(rules.length).toBeGreaterThanOrEqual(5);
    // A case that fires names the alert and lists at least one expected alert after it.
    const firing = new Set([...tests.matchAll(/alertname: (\S+)\n\s*exp_alerts:\n\s*- exp_labels/g)].map((m) => m[1]));
    expect(rules.filter((r) => !firing.has(r)), 'alerts without a firing unit test').toEqual([]);
  });
});
