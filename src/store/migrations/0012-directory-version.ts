import { QueryTypes, type QueryInterface } from 'sequelize';

/**
 * `directory_version`: one counter that every write to the directory bumps, by trigger, whoever
 * writes it (this instance, another one behind the load balancer, a migration, psql). Instances keep
 * directory reads for `auth.revalidateSeconds` and then used to read each kept user, group and reply
 * list again; now one read of this counter, unchanged, keeps them all (core/directory/version-watch).
 * At 10k users and ~9k RADIUS requests/s, nearly every request started a re-read of its user.
 *
 * Bumped by the tables that authentication, LDAP and RADIUS answers are read from. Not by the trail,
 * sessions, challenges, SAML request ids, password links, API keys (their last use is written on
 * every call) or the uid sequence (it moves only with a user insert). In `auth_state` only the
 * lockout columns count, and not for the rows of unknown logins (`unknown-login:N`): the TOTP replay
 * guard, written at every code, is read afresh where it is checked.
 */
export const WATCHED_TABLES = [
  'organizations',
  'users',
  'user_groups',
  'user_group_members',
  'associations',
  'radius_servers',
  'ldap_servers',
  'applications',
  'application_credentials',
  'systems',
  'system_groups',
  'system_group_members',
  'admins',
  'settings',
] as const;

/** Tables that change without changing any answer read through the caches above. */
export const UNWATCHED_TABLES = [
  'audit_events',
  'auth_challenges',
  'web_sessions',
  'sso_requests',
  'password_tokens',
  'api_keys',
  'sequences',
  'schema_migrations',
  'directory_version',
] as const;

/**
 * In `auth_state`, what cached answers depend on: the lock, and whether any failure is counted (a
 * success clears failures only when its account read shows some). A second or third wrong password
 * moves nothing, so that a device retrying a stale password does not keep every instance re-reading.
 * (Migration 0013 moved the failure part to a counter of its own, `failures`, which only
 * authentication watches; this migration stays as it ran.)
 */
const LOCKOUT_CHANGED_SQLITE =
  "NEW.subject_id NOT LIKE 'unknown-login:%' AND (OLD.locked_at IS NOT NEW.locked_at OR (OLD.failed_count > 0) IS NOT (NEW.failed_count > 0))";
const LOCKOUT_CHANGED_PG =
  "NEW.subject_id NOT LIKE 'unknown-login:%' AND (OLD.locked_at IS DISTINCT FROM NEW.locked_at OR (OLD.failed_count > 0) IS DISTINCT FROM (NEW.failed_count > 0))";

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  const sequelize = qi.sequelize;
  const postgres = sequelize.getDialect() === 'postgres';
  await sequelize.transaction(async (transaction) => {
    const run = (sql: string) => sequelize.query(sql, { type: QueryTypes.RAW, transaction });
    await run('CREATE TABLE IF NOT EXISTS directory_version (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)');
    await run('INSERT INTO directory_version (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING');
    if (postgres) {
      // A row update, not a sequence: it becomes visible with the transaction's other writes, so a
      // reader never sees the new number before the change it stands for. Deferred constraint
      // triggers make it the transaction's last lock, taken at commit and held only for it (an
      // immediate trigger held the row from the first write on: failed logins queued behind any
      // open directory transaction, and lock orders could cross into deadlocks), once per
      // transaction (a transaction-local flag), with the search path of the migration.
      await run(`CREATE OR REPLACE FUNCTION directory_version_bump() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
        BEGIN
          IF current_setting('gatehouse.directory_version_bumped', true) = 'yes' THEN RETURN NULL; END IF;
          PERFORM set_config('gatehouse.directory_version_bumped', 'yes', true);
          UPDATE directory_version SET n = n + 1 WHERE id = 1;
          RETURN NULL;
        END $$`);
      const deferred = 'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW';
      for (const t of WATCHED_TABLES) {
        await run(`DROP TRIGGER IF EXISTS directory_version_${t} ON ${t}`);
        await run(`CREATE CONSTRAINT TRIGGER directory_version_${t} AFTER INSERT OR UPDATE OR DELETE ON ${t} ${deferred} EXECUTE FUNCTION directory_version_bump()`);
        await run(`DROP TRIGGER IF EXISTS directory_version_${t}_truncate ON ${t}`);
        await run(`CREATE TRIGGER directory_version_${t}_truncate AFTER TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION directory_version_bump()`);
      }
      await run('DROP TRIGGER IF EXISTS directory_version_auth_state ON auth_state');
      await run(`CREATE CONSTRAINT TRIGGER directory_version_auth_state AFTER UPDATE ON auth_state ${deferred} WHEN (${LOCKOUT_CHANGED_PG}) EXECUTE FUNCTION directory_version_bump()`);
      await run('DROP TRIGGER IF EXISTS directory_version_auth_state_delete ON auth_state');
      await run(
        `CREATE CONSTRAINT TRIGGER directory_version_auth_state_delete AFTER DELETE ON auth_state ${deferred} WHEN (OLD.subject_id NOT LIKE 'unknown-login:%') EXECUTE FUNCTION directory_version_bump()`,
      );
      await run('DROP TRIGGER IF EXISTS directory_version_auth_state_truncate ON auth_state');
      await run('CREATE TRIGGER directory_version_auth_state_truncate AFTER TRUNCATE ON auth_state FOR EACH STATEMENT EXECUTE FUNCTION directory_version_bump()');
      return;
    }
    const bump = 'BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END';
    for (const t of WATCHED_TABLES) {
      for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
        await run(`CREATE TRIGGER IF NOT EXISTS directory_version_${t}_${op.toLowerCase()} AFTER ${op} ON ${t} ${bump}`);
      }
    }
    await run(`CREATE TRIGGER IF NOT EXISTS directory_version_auth_state_update AFTER UPDATE ON auth_state WHEN ${LOCKOUT_CHANGED_SQLITE} ${bump}`);
    await run(`CREATE TRIGGER IF NOT EXISTS directory_version_auth_state_delete AFTER DELETE ON auth_state WHEN OLD.subject_id NOT LIKE 'unknown-login:%' ${bump}`);
  });
}
