import { QueryTypes, type QueryInterface } from 'sequelize';

/**
 * `directory_version.failures`: a second counter for what only authentication's account reads
 * depend on, whether an account has failures counted (a success clears them only when its read
 * shows some). Migration 0012 bumped `n` for it, and `n` is what every other hot-path cache watches:
 * the LDAP user index (100k users, a second or more to build) and the kept LDAP answers were
 * dropped by every user's first wrong password and by the success that cleared it.
 *
 * `n` still moves with a lock or an unlock (LDAP hides or shows locked users, RADIUS and SAML
 * refuse them) and with the deletion of a row. Both counters are columns of the one row, so a
 * transaction that moves both takes one row lock: two rows could be taken in either order by two
 * transactions and deadlock.
 */
const ACCOUNT = "NEW.subject_id NOT LIKE 'unknown-login:%'";
const LOCK_CHANGED_SQLITE = `${ACCOUNT} AND OLD.locked_at IS NOT NEW.locked_at`;
const FAILURES_CHANGED_SQLITE = `${ACCOUNT} AND (OLD.failed_count > 0) IS NOT (NEW.failed_count > 0)`;
const LOCK_CHANGED_PG = `${ACCOUNT} AND OLD.locked_at IS DISTINCT FROM NEW.locked_at`;
const FAILURES_CHANGED_PG = `${ACCOUNT} AND (OLD.failed_count > 0) IS DISTINCT FROM (NEW.failed_count > 0)`;

export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  const sequelize = qi.sequelize;
  const postgres = sequelize.getDialect() === 'postgres';
  await sequelize.transaction(async (transaction) => {
    const run = (sql: string) => sequelize.query(sql, { type: QueryTypes.RAW, transaction });
    // Both tables first, in the order a running instance's failed login takes them (its UPDATE of
    // auth_state, then the deferred trigger's of directory_version at commit): altering
    // directory_version first and then auth_state's triggers crossed that order, and PostgreSQL
    // ended one of the two as deadlocked (reproduced; a failure count lost, or the start-up failed).
    if (postgres) await run('LOCK TABLE auth_state, directory_version IN ACCESS EXCLUSIVE MODE');
    await run('ALTER TABLE directory_version ADD COLUMN failures BIGINT NOT NULL DEFAULT 0');
    if (postgres) {
      // As directory_version_bump (0012): deferred to the commit, once per transaction, under its
      // own transaction-local flag so that a transaction moving both counters moves each.
      await run(`CREATE OR REPLACE FUNCTION directory_failures_bump() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
        BEGIN
          IF current_setting('gatehouse.directory_failures_bumped', true) = 'yes' THEN RETURN NULL; END IF;
          PERFORM set_config('gatehouse.directory_failures_bumped', 'yes', true);
          UPDATE directory_version SET failures = failures + 1 WHERE id = 1;
          RETURN NULL;
        END $$`);
      const deferred = 'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW';
      await run('DROP TRIGGER IF EXISTS directory_version_auth_state ON auth_state');
      await run(`CREATE CONSTRAINT TRIGGER directory_version_auth_state AFTER UPDATE ON auth_state ${deferred} WHEN (${LOCK_CHANGED_PG}) EXECUTE FUNCTION directory_version_bump()`);
      await run('DROP TRIGGER IF EXISTS directory_failures_auth_state ON auth_state');
      await run(`CREATE CONSTRAINT TRIGGER directory_failures_auth_state AFTER UPDATE ON auth_state ${deferred} WHEN (${FAILURES_CHANGED_PG}) EXECUTE FUNCTION directory_failures_bump()`);
      return;
    }
    await run('DROP TRIGGER IF EXISTS directory_version_auth_state_update');
    await run(`CREATE TRIGGER directory_version_auth_state_lock AFTER UPDATE ON auth_state WHEN ${LOCK_CHANGED_SQLITE} BEGIN UPDATE directory_version SET n = n + 1 WHERE id = 1; END`);
    await run(
      `CREATE TRIGGER directory_failures_auth_state AFTER UPDATE ON auth_state WHEN ${FAILURES_CHANGED_SQLITE} BEGIN UPDATE directory_version SET failures = failures + 1 WHERE id = 1; END`,
    );
  });
}
