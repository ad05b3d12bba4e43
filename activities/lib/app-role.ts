import { escapeIdentifier, type ClientBase } from 'pg';

/** The least-privilege app role of 005_app_role.sql (README "Roles"). */
export const APP_ROLE = 'lichen_app';

/**
 * Gives the app role DML on a relation the worker just created for the app to write through
 * (the conversion's bridge view), when the role exists. Runs in the caller's transaction.
 */
export async function grantAppDml(c: ClientBase, relation: string, schema?: string): Promise<void> {
  const r = await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [APP_ROLE]);
  const name = `${schema === undefined ? '' : `${escapeIdentifier(schema)}.`}${escapeIdentifier(relation)}`;
  if (r.rowCount) await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${name} TO ${escapeIdentifier(APP_ROLE)}`);
}
