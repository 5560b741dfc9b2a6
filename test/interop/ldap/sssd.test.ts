import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import { NssDaemon, pamtester } from '../../helpers/nss-daemon.js';
import { exec, lastLdapEventId, ldapEvents, seedDirectory, STANDARD_GROUPS, STANDARD_USERS, type Directory } from '../../integration/ldap/support.js';

/**
 * SSSD, the LDAP client of RHEL, Fedora and current Ubuntu hosts, against the appliance: its LDAP
 * provider with StartTLS against the appliance's certificate, the rfc2307bis schema (groups by
 * `member` DN), paging and its own bind, and its PAM responder binding as the user. `getent -s sss`
 * asks glibc's NSS module of SSSD (libnss-sss) directly, without touching /etc/nsswitch.conf.
 *
 * SSSD keeps its sockets and cache under /var/lib/sss: one instance per machine, so the test runs one
 * in the foreground with a configuration file of its own and removes its domain's cache after.
 */
const DOMAIN = 'gatehouse-test';
const CACHE = '/var/lib/sss/db';
const PAM_SERVICE = 'gatehouse-sssd-test';
const PAM_FILE = `/etc/pam.d/${PAM_SERVICE}`;

async function dropCache(): Promise<void> {
  if (!existsSync(CACHE)) return;
  for (const f of await readdir(CACHE)) if (f.includes(DOMAIN)) await rm(join(CACHE, f), { force: true });
}

describe('LDAP interop: SSSD (getent through libnss-sss, PAM through pam_sss)', function () {
  this.timeout(90_000);
  let dir: Directory;
  const sssd = new NssDaemon('sss');
  let tmp = '';

  before(async function () {
    requireBinary(this, 'sssd', 'sssd-ldap libnss-sss');
    requireBinary(this, 'pamtester', 'pamtester');
    if (process.getuid?.() !== 0) this.skip();
    const running = await exec('pgrep', ['-x', 'sssd']);
    if (running.code === 0) throw new Error('an sssd is already running on this machine; stop it to run this test');
    const run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS, [...STANDARD_GROUPS, { name: 'ops', gidNumber: 8004, members: ['dave'] }]);
    await dropCache();
    tmp = await mkdtemp(join(tmpdir(), 'gatehouse-sssd-'));
    const conf = join(tmp, 'sssd.conf');
    const binder = dir.users.binder!;
    await writeFile(
      conf,
      [
        '[sssd]',
        'services = nss, pam',
        `domains = ${DOMAIN}`,
        '[nss]',
        '[pam]',
        `[domain/${DOMAIN}]`,
        'id_provider = ldap',
        'auth_provider = ldap',
        `ldap_uri = ${dir.url}`,
        `ldap_search_base = ${dir.base}`,
        `ldap_default_bind_dn = ${binder.dn}`,
        `ldap_default_authtok = ${binder.password}`,
        'ldap_schema = rfc2307bis',
        'ldap_id_use_start_tls = true',
        `ldap_tls_cacert = ${dir.caFile}`,
        'ldap_tls_reqcert = demand',
        'ldap_page_size = 2',
        'cache_credentials = false',
        'entry_cache_timeout = 1',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await writeFile(PAM_FILE, ['auth required pam_sss.so', 'account required pam_sss.so', ''].join('\n'));
    await sssd.start('sssd', ['-i', '-c', conf, '--logger=stderr', '-d', '2'], 'alice');
  });

  after(async () => {
    await rm(PAM_FILE, { force: true });
    await sssd.stop();
    await dropCache();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    await dir?.run.stop();
  });

  it('finds a user by name and by uid number, over StartTLS', async () => {
    const alice = await sssd.getent('passwd', 'alice');
    assert.equal(alice.code, 0, sssd.log());
    assert.deepEqual(alice.lines, ['alice:*:7001:7001:Alice Öztürk:/home/alice:/bin/bash']);
    assert.deepEqual((await sssd.getent('passwd', '7002')).lines, ['bob:*:7002:7002:Bob Builder:/home/bob:/bin/bash']);
  });

  it('does not find users the directory hides (unbound, staged, suspended)', async () => {
    for (const u of ['carol', 'stella', 'sam']) assert.equal((await sssd.getent('passwd', u)).code, 2, u);
  });

  it('finds POSIX groups by name and gid with their members (rfc2307bis: member DNs)', async () => {
    const staff = await sssd.groups('staff');
    assert.equal(staff.code, 0, sssd.log());
    assert.deepEqual(staff.lines, ['staff:*:8001:alice,bob']);
    assert.deepEqual((await sssd.getent('group', '8004')).lines, ['ops:*:8004:dave']);
    assert.equal((await sssd.getent('group', 'hidden')).code, 2, 'a group not bound to the LDAP server');
  });

  it('lists the groups of a user (initgroups, what `id` and login use)', async () => {
    assert.deepEqual((await sssd.getent('initgroups', 'alice')).lines.map((l) => l.split(/\s+/).slice(1).sort().join(' ')), ['8001']);
  });

  it('logs a user in through pam_sss (a bind as the user) and refuses a wrong password', async () => {
    const alice = dir.users.alice!;
    const since = await lastLdapEventId(dir.run);
    const ok = await pamtester(PAM_SERVICE, 'alice', alice.password, 'authenticate', 'acct_mgmt');
    assert.equal(ok.code, 0, `${ok.stdout} ${ok.stderr} ${sssd.log()}`);
    const binds = (await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_bind' && x.username === 'alice'))).filter((e) => e.event_type === 'ldap_bind');
    assert.ok(binds.some((e) => e.username === 'alice' && e.success === true && e.tls === true), JSON.stringify(binds));
    const wrong = await pamtester(PAM_SERVICE, 'bob', 'not-the-password-1', 'authenticate');
    assert.notEqual(wrong.code, 0);
  });
});
