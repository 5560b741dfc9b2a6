import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { exec } from '../../integration/ldap/support.js';
import { createSelfSignedCertificate, type KeyAndCertificate } from '../../../src/util/certificates.js';

const pairFor = (cn: string) => createSelfSignedCertificate({ commonName: cn, dnsNames: [cn, 'localhost'], ipAddresses: ['127.0.0.1'], days: 30 });

/**
 * An admin replaces certs/tls.key and tls.crt (a renewal) while the appliance runs: LDAPS and
 * StartTLS serve the new pair without a restart, at SIGHUP (reloadTls) or on their own within the
 * check interval, and a bad pair is refused with the old one kept. Checked with ldapwhoami, which
 * trusts only the CA file it is given (LDAPTLS_REQCERT=demand).
 */
describe('LDAP TLS: replacing the key and certificate without a restart (ldapwhoami)', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let tmp: string;
  let oldCa: string;
  let certsDir: string;

  before(async function () {
    requireBinary(this, 'ldapwhoami', 'ldap-utils');
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-tls-reload-'));
    gh = await startAppliance({}, { tlsCheckIntervalMs: 200 });
    certsDir = gh.appliance.config.certsDir;
    oldCa = join(tmp, 'old.crt');
    writeFileSync(oldCa, gh.appliance.tls.certPem);
  });
  after(async () => {
    await gh?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Anonymous ldapwhoami over LDAPS and over StartTLS, trusting only `ca`; true when both verify. */
  const trusts = async (ca: string): Promise<{ ldaps: boolean; startTls: boolean }> => {
    const env = { LDAPTLS_CACERT: ca, LDAPTLS_REQCERT: 'demand', LDAPCONF: '/dev/null', LDAPRC: '/dev/null' };
    const ldaps = await exec('ldapwhoami', ['-x', '-H', `ldaps://127.0.0.1:${gh.endpoints.ldap!.ldapsPort}`], { env });
    const startTls = await exec('ldapwhoami', ['-x', '-ZZ', '-H', `ldap://127.0.0.1:${gh.endpoints.ldap!.port}`], { env });
    return { ldaps: ldaps.code === 0 && /anonymous/.test(ldaps.stdout), startTls: startTls.code === 0 && /anonymous/.test(startTls.stdout) };
  };
  const install = (pair: KeyAndCertificate) => {
    // As a careful admin does: each file written beside, then renamed into place.
    writeFileSync(join(certsDir, 'tls.key.new'), pair.keyPem, { mode: 0o600 });
    writeFileSync(join(certsDir, 'tls.crt.new'), pair.certPem);
    renameSync(join(certsDir, 'tls.key.new'), join(certsDir, 'tls.key'));
    renameSync(join(certsDir, 'tls.crt.new'), join(certsDir, 'tls.crt'));
  };
  const caFile = (name: string, pair: KeyAndCertificate) => {
    const f = join(tmp, name);
    writeFileSync(f, pair.certPem);
    return f;
  };

  it('serves a replaced pair after reloadTls (SIGHUP), to LDAPS and StartTLS', async () => {
    assert.deepEqual(await trusts(oldCa), { ldaps: true, startTls: true });
    const next = await pairFor('ldap-renewed.example');
    const nextCa = caFile('next.crt', next);
    install(next);
    assert.deepEqual(gh.appliance.reloadTls(), { reloaded: true });
    assert.deepEqual(await trusts(nextCa), { ldaps: true, startTls: true });
    assert.deepEqual(await trusts(oldCa), { ldaps: false, startTls: false }, 'the old certificate is no longer served');
    assert.equal(gh.appliance.tls.certPem, next.certPem);
    assert.deepEqual(gh.appliance.reloadTls(), { reloaded: false }, 'the same files again change nothing');
  });

  it('picks up replaced files on its own within the check interval', async () => {
    const third = await pairFor('ldap-third.example');
    const thirdCa = caFile('third.crt', third);
    install(third);
    let seen = false;
    for (let i = 0; i < 50 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = gh.appliance.tls.certPem === third.certPem;
    }
    assert.ok(seen, 'reloaded within 5 s');
    assert.deepEqual(await trusts(thirdCa), { ldaps: true, startTls: true });
  });

  it('refuses a key that is not the certificate’s, or a missing file, and keeps serving the previous pair', async () => {
    const current = gh.appliance.tls;
    const currentCa = caFile('current.crt', current);
    const a = await pairFor('a.example');
    const b = await pairFor('b.example');
    install({ keyPem: a.keyPem, certPem: b.certPem });
    const mismatch = gh.appliance.reloadTls();
    assert.equal(mismatch.reloaded, false);
    assert.match(mismatch.error ?? '', /is not the key of the certificate/);
    rmSync(join(certsDir, 'tls.key'));
    const missing = gh.appliance.reloadTls();
    assert.equal(missing.reloaded, false);
    assert.match(missing.error ?? '', /cannot be read/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(gh.appliance.tls.certPem, current.certPem);
    assert.deepEqual(await trusts(currentCa), { ldaps: true, startTls: true });
  });
});
