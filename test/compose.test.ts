import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/devenv/paths';

/**
 * docker-compose.yml, checked by Docker Compose itself: `docker compose config` validates the
 * file and renders it (interpolation, anchors, defaults) as JSON, which is then asserted on.
 * Needs only the docker client with its compose plugin, no Docker engine. Without them the
 * suite is skipped and says why.
 */
const COMPOSE_FILE = path.join(projectRoot, 'docker-compose.yml');
const SECRET_VARS = ['LICHEN_DB_PASSWORD', 'TEMPORAL_DB_PASSWORD', 'LICHEN_ADMIN_TOKEN'];

function composeAvailable(): string | undefined {
  const r = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `the docker client is not installed (${r.error.message})`;
  if (r.status !== 0) return `the docker client has no compose plugin (docker compose version: ${(r.stderr || r.stdout).trim().split('\n')[0]})`;
  return undefined;
}

const unavailable = composeAvailable();
if (unavailable) process.stderr.write(`[compose.test] SKIPPED: ${unavailable}; docker-compose.yml is not validated on this machine\n`);

/** Runs `docker compose -f docker-compose.yml <args>` with the secret variables unset except `env`. */
function compose(args: string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SECRET_VARS.includes(k)));
  const r = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    timeout: 60_000,
    // A developer's own .env must not change what is checked: point compose at none.
    env: { ...base, ...env, COMPOSE_DISABLE_ENV_FILE: 'true' },
  });
  if (r.error) throw r.error;
  return r;
}

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  command?: string[];
  entrypoint?: string[];
  volumes?: { source?: string; target: string }[];
}

function rendered(env: Record<string, string> = {}): Record<string, Service> {
  const r = compose(['config', '--format', 'json'], env);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { services: Record<string, Service> }).services;
}

function versionOf(image: string | undefined): number[] {
  const tag = /:(\d+)\.(\d+)(?:\.(\d+))?$/.exec(image ?? '');
  if (!tag) throw new Error(`image ${image} has no x.y[.z] version tag`);
  return [Number(tag[1]), Number(tag[2]), Number(tag[3] ?? 0)];
}

function atLeast(v: number[], min: number[]): boolean {
  for (let i = 0; i < min.length; i++) if (v[i] !== min[i]) return v[i] > min[i];
  return true;
}

describe.skipIf(Boolean(unavailable))('docker-compose.yml', () => {
  it('is valid for docker compose (config --quiet)', () => {
    const r = compose(['config', '--quiet']);
    expect(r.stderr.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('has the application database, Temporal on PostgreSQL with its schema job, the UI, the worker and the app', () => {
    const s = rendered();
    for (const name of ['postgres', 'temporal-postgresql', 'temporal-admin-tools', 'temporal', 'temporal-namespace', 'temporal-ui', 'setup', 'migrate', 'worker', 'app']) {
      expect(Object.keys(s)).toContain(name);
    }
    expect(s.postgres.image).toBe('postgres:16');

    // Temporal as in its current samples: admin-tools runs temporal-sql-tool, then the plain server image.
    expect(s['temporal-admin-tools'].image).toMatch(/^temporalio\/admin-tools:/);
    const script = fs.readFileSync(path.join(projectRoot, 'docker/temporal/setup-schema.sh'), 'utf8');
    expect(script).toMatch(/temporal-sql-tool --plugin postgres12/);
    expect(script).toMatch(/update-schema/);
    expect(s['temporal-admin-tools'].command?.join(' ')).toContain('setup-schema.sh');
    expect(s.temporal.image).toMatch(/^temporalio\/server:/);
    expect(s.temporal.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'temporal-postgresql' });
    expect(s.temporal.depends_on?.['temporal-admin-tools']?.condition).toBe('service_completed_successfully');

    // The UI: 2.36 or later (message descriptions, Start Workflow form).
    expect(s['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(atLeast(versionOf(s['temporal-ui'].image), [2, 36, 0]), `${s['temporal-ui'].image} is older than 2.36`).toBe(true);
    expect(s['temporal-ui'].environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('builds the worker and the app from docker/Dockerfile and gives them TEMPORAL_ADDRESS, DATABASE_URL and the admin token', () => {
    const s = rendered();
    for (const name of ['worker', 'app']) {
      const svc = s[name];
      expect(svc.build?.dockerfile).toBe('docker/Dockerfile');
      expect(svc.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(svc.environment?.DATABASE_URL).toMatch(/^postgres:\/\/lichen:[^@]+@postgres:5432\/lichen$/);
      expect(svc.environment?.LICHEN_ADMIN_TOKEN).toBeTruthy();
      expect(svc.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    }
    // The image's entry point is node, running the compiled dist/ (test/package/dockerfile.test.ts).
    expect(s.worker.command).toEqual(['bin/cutover-worker']);
    expect(s.app.command).toEqual(['dist/src/memory-layer/main.js']);
    expect(s.setup.command).toEqual(['bin/cutover', 'setup']);
    expect(s.worker.depends_on?.setup?.condition).toBe('service_completed_successfully');
    expect(s.migrate.depends_on?.postgres?.condition).toBe('service_healthy');
    for (const name of ['postgres', 'temporal-postgresql', 'temporal', 'app']) expect(s[name].healthcheck?.test.length).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(projectRoot, 'docker/Dockerfile'), 'utf8')).toMatch(/^FROM node:20/m);
  });

  it('runs Prometheus with the alert rules and Grafana with the dashboard, both provisioned from docker/, and the worker exports its metrics', () => {
    const s = rendered();
    expect(s.prometheus.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(s.grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    const mounts = (svc: Service) => Object.fromEntries((svc.volumes ?? []).map((v) => [v.target, v.source ? path.relative(projectRoot, v.source) : undefined]));
    expect(mounts(s.prometheus)).toMatchObject({ '/etc/prometheus/prometheus.yml': 'docker/prometheus/prometheus.yml', '/etc/prometheus/alerts.yml': 'docker/prometheus/alerts.yml' });
    expect(mounts(s.grafana)).toMatchObject({
      '/etc/grafana/provisioning': 'docker/grafana/provisioning',
      '/var/lib/grafana/dashboards/lichen-cutover.json': 'docker/grafana/lichen-cutover.json',
    });
    for (const f of ['docker/prometheus/prometheus.yml', 'docker/prometheus/alerts.yml', 'docker/grafana/lichen-cutover.json', 'docker/grafana/provisioning/datasources/prometheus.yml', 'docker/grafana/provisioning/dashboards/lichen.yml']) {
      expect(fs.existsSync(path.join(projectRoot, f)), f).toBe(true);
    }
    // What Prometheus scrapes is what the compose file runs: the worker's exporter port and the app's.
    expect(s.worker.environment?.LICHEN_METRICS_ADDRESS).toBe('0.0.0.0:9464');
    const promConfig = fs.readFileSync(path.join(projectRoot, 'docker/prometheus/prometheus.yml'), 'utf8');
    expect(promConfig).toContain('"worker:9464"');
    expect(promConfig).toContain(`"app:${s.app.environment?.PORT}"`);
    expect(promConfig).toContain('/etc/prometheus/alerts.yml');
    // Grafana's datasource is the compose Prometheus, with the uid the dashboard's panels name.
    const datasource = fs.readFileSync(path.join(projectRoot, 'docker/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
    expect(datasource).toContain('url: http://prometheus:9090');
    const uid = /uid: (\S+)/.exec(datasource)?.[1];
    const dashboard = JSON.parse(fs.readFileSync(path.join(projectRoot, 'docker/grafana/lichen-cutover.json'), 'utf8')) as { panels: { datasource: { uid: string } }[] };
    expect(new Set(dashboard.panels.map((p) => p.datasource.uid))).toEqual(new Set([uid]));
    expect(s.grafana.depends_on?.prometheus?.condition).toBe('service_healthy');
    expect(s.grafana.environment?.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^dev-only-/);
  });

  it('takes the passwords and the admin token from the environment (.env); the defaults are marked dev placeholders', () => {
    const defaults = rendered();
    expect(defaults.app.environment?.LICHEN_ADMIN_TOKEN).toMatch(/^dev-only-/);
    expect(defaults.postgres.environment?.POSTGRES_PASSWORD).toMatch(/^dev-only-/);
    expect(defaults.temporal.environment?.POSTGRES_PWD).toMatch(/^dev-only-/);

    const s = rendered({ LICHEN_DB_PASSWORD: 'pw-from-env', TEMPORAL_DB_PASSWORD: 'tpw-from-env', LICHEN_ADMIN_TOKEN: 'token-from-env' });
    expect(s.postgres.environment?.POSTGRES_PASSWORD).toBe('pw-from-env');
    expect(s.worker.environment?.DATABASE_URL).toBe('postgres://lichen:pw-from-env@postgres:5432/lichen');
    expect(s.app.environment?.LICHEN_ADMIN_TOKEN).toBe('token-from-env');
    expect(s.worker.environment?.LICHEN_ADMIN_TOKEN).toBe('token-from-env');
    expect(s['temporal-postgresql'].environment?.POSTGRES_PASSWORD).toBe('tpw-from-env');
    expect(s['temporal-admin-tools'].environment?.SQL_PASSWORD).toBe('tpw-from-env');
    expect(s.temporal.environment?.POSTGRES_PWD).toBe('tpw-from-env');
  });
});
