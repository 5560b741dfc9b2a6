/**
 * Seeds a Gatehouse data directory for benchmarks, in the layout of the shared peers
 * (/work/shared/bench/slapd-peer.sh): users user00000..user{N-1}, all with the same password,
 * groups group0000..group{G-1} with user i in group i % G, every group bound to the LDAP server
 * (and to a RADIUS client for 127.0.0.1 when --radius-secret is given). user00000 is an LDAP bind
 * account, so it can search the directory.
 *
 *   npx tsx bench/seed.ts --data DIR --users N [--groups G] [--password PW] [--radius-secret S]
 *
 * Rows are written straight through the store in large transactions with one precomputed
 * argon2id hash (the cost of a bind is unchanged; only setup time is bounded). Prints
 * `ORG_ID=<id>` and `BASE=<naming context>` for the caller.
 */
import '../src/util/threadpool.js';
import { join } from 'node:path';
import { loadSecretKey } from '../src/secret-key.js';
import { createCore } from '../src/core/index.js';
import { createPasswordHasher } from '../src/core/auth/password-hasher.js';
import { createSecretBox } from '../src/core/auth/secret-box.js';
import { systemActor } from '../src/core/access/actor.js';
import { systemClock } from '../src/core/ports.js';
import type { User } from '../src/core/directory/types.js';
import { openStore } from '../src/store/index.js';
import { newId } from '../src/util/ids.js';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (v === undefined && def === undefined) throw new Error(`--${name} is required`);
  return v ?? def!;
}

const DATA = arg('data');
const USERS = Number(arg('users', '1000'));
const GROUPS = Number(arg('groups', String(Math.max(1, Math.floor(USERS / 50)))));
const PASSWORD = arg('password', 'Passw0rd!');
const RADIUS_SECRET = arg('radius-secret', '');
const SUFFIX = arg('suffix', 'dc=gatehouse,dc=local');
const BATCH = 2000;

async function main() {
  const dataDir = join(DATA, 'data');
  const { store } = await openStore({ databaseUrl: process.env.GATEHOUSE_DATABASE_URL ?? '', dataDir });
  const params = { memoryKiB: 19456, iterations: 2, parallelism: 1 };
  const log = { debug() {}, info() {}, warn() {}, error: (o: object, m?: string) => console.error(m, o) };
  const core = createCore({
    store,
    hasher: createPasswordHasher(params),
    secretBox: createSecretBox(loadSecretKey('', dataDir)),
    clock: systemClock,
    log,
    totpIssuer: 'bench',
    credentialCache: { ttlSeconds: 0, maxEntries: 1 },
    audit: { flushIntervalMs: 100, batchSize: 500, maxQueue: 1_000_000 },
  });
  const boot = await core.bootstrap({ organizationName: 'bench', adminEmail: 'admin@bench.local', adminPassword: 'Quiet-River-Stone-9', apiKey: process.env.GATEHOUSE_BOOTSTRAP_API_KEY ?? '' });
  const org = boot.organization;
  const ldap = (await core.ldapServers.list())[0]!;
  // Lockout must not interfere with load that binds the same users over and over.
  await core.organization.update(org.id, { settings: { passwordPolicy: { enableMaxLoginAttempts: false } } }, systemActor);
  let radiusId: string | null = null;
  if (RADIUS_SECRET) {
    radiusId = (await core.radiusServers.create({ name: 'bench', networkSourceIp: '127.0.0.1', sharedSecret: RADIUS_SECRET }, systemActor)).server.id;
  }

  const hash = await createPasswordHasher(params).hash(PASSWORD);
  const t0 = Date.now();
  const groupIds: string[] = [];
  await store.transaction(async (tx) => {
    for (let g = 0; g < GROUPS; g++) {
      const now = new Date();
      const id = newId(now.getTime());
      groupIds.push(id);
      await tx.userGroups.create({
        id,
        name: `group${String(g).padStart(4, '0')}`,
        description: '',
        email: '',
        posixGid: 2_000_000 + g,
        posixName: `group${String(g).padStart(4, '0')}`,
        radiusReply: [],
        createdAt: now,
        updatedAt: now,
      });
      await tx.associations.add({ fromType: 'user_group', fromId: id, toType: 'ldap_server', toId: ldap.id, createdAt: now });
      if (radiusId) await tx.associations.add({ fromType: 'user_group', fromId: id, toType: 'radius_server', toId: radiusId, createdAt: now });
    }
  });
  for (let start = 0; start < USERS; start += BATCH) {
    await store.transaction(async (tx) => {
      for (let i = start; i < Math.min(USERS, start + BATCH); i++) {
        const now = new Date();
        const uid = `user${String(i).padStart(5, '0')}`;
        const u: User = {
          id: newId(now.getTime()),
          username: uid,
          email: `${uid}@bench.local`,
          firstname: 'Bench',
          lastname: `User ${i}`,
          displayname: '',
          state: 'ACTIVATED',
          hasPassword: true,
          passwordChangedAt: now,
          passwordExpiredFlag: false,
          totpEnrolled: false,
          enableUserPortalMultifactor: false,
          mfaExclusion: false,
          mfaExclusionUntil: null,
          ldapBindingUser: i === 0,
          unixUid: 100_000 + i,
          unixGuid: 100_000 + i,
          jobTitle: '',
          department: '',
          company: '',
          location: '',
          employeeIdentifier: '',
          description: '',
          attributes: [],
          lockedAt: null,
          createdAt: now,
          updatedAt: now,
        };
        await tx.users.create(u, { passwordHash: hash, passwordHistory: [], totpSecret: null, totpPendingSecret: null });
        await tx.authState.ensure(u.id);
        await tx.userGroups.addMember(groupIds[i % GROUPS]!, u.id);
      }
    });
    process.stderr.write(`\rseeded ${Math.min(USERS, start + BATCH)}/${USERS} users`);
  }
  process.stderr.write(`\nseeded ${USERS} users and ${GROUPS} groups in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  await core.close();
  await store.close();
  console.log(`ORG_ID=${org.id}`);
  console.log(`BASE=o=${org.id},${SUFFIX}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
