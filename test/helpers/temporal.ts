import { afterAll, beforeAll, inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export interface TestTemporal {
  client: Client;
  connection: Connection;
  nativeConnection: NativeConnection;
  namespace: string;
  /** The workflows bundled once for this run (workers: `workflowBundle: t.workflowBundle`). */
  workflowBundle: { codePath: string };
  /** A task queue unique to this test. */
  taskQueue(label?: string): string;
}

let counter = 0;

/** Connects to the run's Temporal dev server for one test file. */
export function useTemporal(): TestTemporal {
  const t = {} as TestTemporal;
  beforeAll(async () => {
    const address = inject('temporalAddress');
    t.namespace = inject('temporalNamespace');
    t.workflowBundle = { codePath: inject('workflowBundlePath') };
    t.connection = await Connection.connect({ address });
    t.nativeConnection = await NativeConnection.connect({ address });
    t.client = new Client({ connection: t.connection, namespace: t.namespace });
    t.taskQueue = (label = 'q') => `${label}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  });
  afterAll(async () => {
    await t.connection?.close();
    await t.nativeConnection?.close();
  });
  return t;
}
