import type { Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import * as initial from './migrations/0001-initial.js';
import * as casefold from './migrations/0002-casefold-columns.js';
import * as ldapAndChallenges from './migrations/0003-ldap-settings-and-challenges.js';
import * as ldapIndexes from './migrations/0004-ldap-indexes.js';
import * as ssoSessions from './migrations/0005-sso-sessions-and-signing-keys.js';
import * as consoleTokens from './migrations/0006-console-tokens-and-settings.js';
import * as textOrder from './migrations/0007-text-order-and-group-name-case.js';
import * as radiusNetworkBlock from './migrations/0008-radius-network-block.js';
import * as ssoRequestIds from './migrations/0009-sso-request-ids.js';
import * as adminPasswordChange from './migrations/0010-admin-password-change.js';
import * as commonName from './migrations/0011-common-name.js';
import * as directoryVersion from './migrations/0012-directory-version.js';
import * as failureVersion from './migrations/0013-failure-version.js';

/** Every migration, in order. Forward-only: a released migration is never edited or removed. */
const MIGRATIONS = [
  { name: '0001-initial', up: initial.up },
  { name: '0002-casefold-columns', up: casefold.up },
  { name: '0003-ldap-settings-and-challenges', up: ldapAndChallenges.up },
  { name: '0004-ldap-indexes', up: ldapIndexes.up },
  { name: '0005-sso-sessions-and-signing-keys', up: ssoSessions.up },
  { name: '0006-console-tokens-and-settings', up: consoleTokens.up },
  { name: '0007-text-order-and-group-name-case', up: textOrder.up },
  { name: '0008-radius-network-block', up: radiusNetworkBlock.up },
  { name: '0009-sso-request-ids', up: ssoRequestIds.up },
  { name: '0010-admin-password-change', up: adminPasswordChange.up },
  { name: '0011-common-name', up: commonName.up },
  { name: '0012-directory-version', up: directoryVersion.up },
  { name: '0013-failure-version', up: failureVersion.up },
];

export const MIGRATION_NAMES: readonly string[] = MIGRATIONS.map((m) => m.name);

export function createMigrator(sequelize: Sequelize) {
  return new Umzug({
    migrations: MIGRATIONS.map((m) => ({ name: m.name, up: m.up })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: undefined,
  });
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const applied = await createMigrator(sequelize).up();
  return applied.map((m) => m.name);
}
