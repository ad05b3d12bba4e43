import { describe, expect, inject, it } from 'vitest';
import { useTemporal } from '../helpers/temporal';
import { scanFiles, scanNamespace } from '../hostile/secret-scan';
import { logDir, registeredSecrets, scenario } from './lib';

const temporal = useTemporal();

// Runs last (vitest.chaos.config.ts orders it so): after every scenario has killed, restarted,
// rejected and logged, nothing anywhere holds the database password or an admin token.
describe('after every chaos scenario: no secret in any history or log', () => {
  it('scans every workflow history on the server and every captured log for the password and the admin tokens', async () => {
    await scenario('secrets scan: histories and logs hold no password or token', async () => {
      const secrets = { 'database password': inject('pgPassword'), ...registeredSecrets() };
      expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(4);
      const ns = await scanNamespace(temporal.client, secrets);
      const files = scanFiles(logDir(), secrets);
      expect(ns.workflows).toBeGreaterThan(100);
      // Real output was captured: the Temporal server's and every worker's and app's logs.
      expect(files.files).toBeGreaterThanOrEqual(5);
      expect(ns.hits).toEqual([]);
      expect(files.hits).toEqual([]);
      return { dataLost: null, detail: `${ns.workflows} workflows (${ns.events} events), ${files.files} log files (${files.bytes} bytes), ${Object.keys(secrets).length} secrets` };
    });
  });
});
