import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import { NssDaemon, pamtester } from '../../helpers/nss-daemon.js';
import { exec, lastLdapEventId, ldapEvents, seedDirectory, STANDARD_GROUPS, STANDARD_USERS, type Directory } from '../../integration/ldap/support.js';

/**
 * nslcd (nss-pam-ldapd), the daemon behind `getent passwd` on Debian and Ubuntu LDAP clients,
 * against the appliance: its own bind, filters (memberUid for groups), paging and attribute maps,
 * with nothing configured beyond the base and the bind account.
 *
 * nslcd reads only /etc/nslcd.conf and listens on /run/nslcd/socket: the test writes that file
 * (keeping any existing one aside and putting it back) and runs one nslcd in the foreground.
 */
const CONF = '/etc/nslcd.conf';
const MARK = '# written by the Gatehouse nslcd interop test';
/** A PAM service of its own, so that no system PAM stack changes: pam_ldap (libpam-ldapd) alone. */
const PAM_SERVICE = 'gatehouse-nslcd-test';
const PAM_FILE = `/etc/pam.d/${PAM_SERVICE}`;

describe('LDAP interop: nslcd (getent passwd/group/initgroups through libnss-ldapd, PAM through pam_ldap)', function () {
  this.timeout(60_000);
  let dir: Directory;
  const nslcd = new NssDaemon('ldap');
  let kept: string | null = null;
  let caCopy = '';

  before(async function () {
    requireBinary(this, 'nslcd', 'nslcd libnss-ldapd');
    if (process.getuid?.() !== 0) this.skip();
    // One nslcd per machine (/run/nslcd/socket): one started by the package would answer instead.
    if ((await exec('nslcd', ['-c'])).code === 0) throw new Error('an nslcd is already running on this machine; stop it to run this test');
    const run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS, [...STANDARD_GROUPS, { name: 'ops', gidNumber: 8004, members: ['dave'] }]);
    if (existsSync(CONF) && !(await readFile(CONF, 'utf8')).startsWith(MARK)) {
      kept = `${CONF}.gatehouse-test-kept`;
      await rename(CONF, kept);
    }
    const binder = dir.users.binder!;
    // As the README shows it: StartTLS, checking the appliance's certificate, in a file nslcd's
    // own user may read (as /etc/ssl/certs is; the appliance's data dir is not).
    caCopy = join(tmpdir(), `gatehouse-nslcd-ca-${process.pid}.crt`);
    await copyFile(dir.caFile, caCopy);
    await chmod(caCopy, 0o644);
    const conf = [
      MARK,
      'uid nslcd',
      'gid nslcd',
      `uri ${dir.url}`,
      `base ${dir.base}`,
      `binddn ${binder.dn}`,
      `bindpw ${binder.password}`,
      'ssl start_tls',
      `tls_cacertfile ${caCopy}`,
      'tls_reqcert demand',
      'pagesize 2',
      '',
    ];
    await writeFile(CONF, conf.join('\n'), { mode: 0o600 });
    await nslcd.start('nslcd', ['-d'], 'alice');
  });

  after(async () => {
    await rm(PAM_FILE, { force: true });
    await nslcd.stop();
    if (caCopy) await rm(caCopy, { force: true });
    if (kept) await rename(kept, CONF);
    await dir?.run.stop();
  });

  it('finds a user by name and by uid number, with the entry as shown over LDAP', async () => {
    const byName = await nslcd.getent('passwd', 'alice');
    assert.equal(byName.code, 0, nslcd.log());
    // `*`: no userPassword is served (nslcd's placeholder then; authentication is a bind).
    assert.deepEqual(byName.lines, ['alice:*:7001:7001:Alice Öztürk:/home/alice:/bin/bash']);
    assert.deepEqual((await nslcd.getent('passwd', '7002')).lines, ['bob:*:7002:7002:Bob Builder:/home/bob:/bin/bash']);
  });

  it('enumerates exactly the users bound to the LDAP server (paged, 2 per page)', async () => {
    const all = await nslcd.getent('passwd');
    assert.deepEqual(all.lines.map((l) => l.split(':')[0]), ['alice', 'binder', 'bob', 'dave']);
  });

  it('does not find users the directory hides (unbound, staged, suspended)', async () => {
    for (const u of ['carol', 'stella', 'sam']) assert.equal((await nslcd.getent('passwd', u)).code, 2, u);
  });

  it('finds POSIX groups by name and gid with their members, and enumerates them', async () => {
    assert.deepEqual((await nslcd.groups('staff')).lines, ['staff:*:8001:alice,bob']);
    assert.deepEqual((await nslcd.groups('8004')).lines, ['ops:*:8004:dave']);
    assert.deepEqual((await nslcd.groups()).lines, ['ops:*:8004:dave', 'staff:*:8001:alice,bob']);
    assert.equal((await nslcd.groups('hidden')).code, 2, 'a group not bound to the LDAP server');
  });

  it('lists the groups of a user (initgroups, what `id` and login use)', async () => {
    assert.deepEqual((await nslcd.getent('initgroups', 'alice')).lines, ['alice                 8001']);
    assert.deepEqual((await nslcd.getent('initgroups', 'dave')).lines, ['dave                  8004']);
  });

  describe('PAM (pam_ldap through nslcd, as a Linux login checks a password)', () => {
    before(async function () {
      requireBinary(this, 'pamtester', 'pamtester libpam-ldapd');
      if (!existsSync('/lib/x86_64-linux-gnu/security/pam_ldap.so') && !existsSync('/usr/lib/x86_64-linux-gnu/security/pam_ldap.so')) {
        if (process.env.CI) throw new Error('pam_ldap.so is required in CI (apt-get install -y libpam-ldapd)');
        this.skip();
      }
      await writeFile(PAM_FILE, ['auth required pam_ldap.so', 'account required pam_ldap.so', ''].join('\n'));
    });

    it('accepts the right password (nslcd binds as the user) and checks the account', async () => {
      const alice = dir.users.alice!;
      const since = await lastLdapEventId(dir.run);
      const r = await pamtester(PAM_SERVICE, 'alice', alice.password, 'authenticate', 'acct_mgmt');
      assert.equal(r.code, 0, `${r.stdout} ${r.stderr} ${nslcd.log(1500)}`);
      assert.match(r.stderr + r.stdout, /successfully authenticated/);
      const binds = (await ldapEvents(dir.run, since, (e) => e.some((x) => x.event_type === 'ldap_bind' && x.username === 'alice'))).filter((e) => e.event_type === 'ldap_bind');
      assert.ok(binds.some((e) => e.username === 'alice' && e.success === true && e.dn === alice.dn && e.tls === true), JSON.stringify(binds));
    });

    it('refuses a wrong password and a user the directory hides', async () => {
      const wrong = await pamtester(PAM_SERVICE, 'bob', 'not-the-password-1', 'authenticate');
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr + wrong.stdout, /Authentication failure/i);
      const hidden = await pamtester(PAM_SERVICE, 'carol', 'Christmas-55xy', 'authenticate');
      assert.notEqual(hidden.code, 0, 'carol is not bound to the LDAP server');
    });
  });
});
