import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log warnings and errors only (state changes at INFO drown the test output).
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}
