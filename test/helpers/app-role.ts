import crypto from 'node:crypto';
import { escapeIdentifier, escapeLiteral, Pool } from 'pg';

/** The group role of 005_app_role.sql: DML on the records and control-plane tables, no DDL. */
export const APP_GROUP_ROLE = 'lichen_app';

const made = new Map<string, Promise<string>>();

/**
 * The URL an app instance of the database at `ownerUrl` connects with: a login role of its own
 * (`<database>_app`), member of lichen_app, not a superuser, owning nothing. Created (once per
 * database) through `ownerUrl`. The grants come from the migrations: an app connected with it can
 * do exactly what the migrations allow the app role, no more.
 */
export function appRoleUrl(ownerUrl: string): Promise<string> {
  let p = made.get(ownerUrl);
  if (!p) {
    p = createAppRole(ownerUrl);
    made.set(ownerUrl, p);
    p.catch(() => made.delete(ownerUrl));
  }
  return p;
}

async function createAppRole(ownerUrl: string): Promise<string> {
  const u = new URL(ownerUrl);
  const database = decodeURIComponent(u.pathname.slice(1));
  const role = `${database}_app`.slice(0, 63);
  const password = crypto.createHash('sha256').update(`app-role:${database}`).digest('hex').slice(0, 24);
  const pool = new Pool({ connectionString: ownerUrl, max: 1 });
  try {
    // Roles are cluster-wide and test files migrate in parallel: creating one may race.
    await pool.query(`DO $r$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${escapeLiteral(APP_GROUP_ROLE)}) THEN
        BEGIN CREATE ROLE ${escapeIdentifier(APP_GROUP_ROLE)} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${escapeLiteral(role)}) THEN
        BEGIN
          CREATE ROLE ${escapeIdentifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${escapeLiteral(password)} IN ROLE ${escapeIdentifier(APP_GROUP_ROLE)};
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
      END IF;
    END $r$`);
  } finally {
    await pool.end();
  }
  u.username = role;
  u.password = password;
  return u.toString();
}
