import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCertificate, ensureTlsCertificate } from '../../../src/util/certificates.js';

describe('the TLS key and certificate in the certs dir', function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-certs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const own = () => createSelfSignedCertificate({ commonName: 'ldap.example', dnsNames: ['ldap.example'], ipAddresses: [], days: 30 });

  it('generates a pair when neither file is there, and reads it back after', async () => {
    const first = await ensureTlsCertificate(dir, 'localhost');
    assert.equal(first.generated, true);
    const again = await ensureTlsCertificate(dir, 'localhost');
    assert.deepEqual({ ...again, generated: true }, first);
    assert.equal(again.generated, false);
  });

  it('serves an admin\'s own pair as it is', async () => {
    const mine = await own();
    writeFileSync(join(dir, 'tls.key'), mine.keyPem);
    writeFileSync(join(dir, 'tls.crt'), mine.certPem);
    const got = await ensureTlsCertificate(dir, 'localhost');
    assert.equal(got.generated, false);
    assert.equal(got.certPem, mine.certPem);
  });

  for (const missing of ['tls.key', 'tls.crt']) {
    it(`refuses to start when ${missing} is missing, and overwrites nothing`, async () => {
      const mine = await own();
      writeFileSync(join(dir, 'tls.key'), mine.keyPem);
      writeFileSync(join(dir, 'tls.crt'), mine.certPem);
      unlinkSync(join(dir, missing));
      const kept = missing === 'tls.key' ? 'tls.crt' : 'tls.key';
      const before = readFileSync(join(dir, kept), 'utf8');
      await assert.rejects(ensureTlsCertificate(dir, 'localhost'), (err: Error) => err.message.includes(join(dir, missing)) && /missing/.test(err.message));
      assert.equal(readFileSync(join(dir, kept), 'utf8'), before, `${kept} untouched`);
      assert.equal(existsSync(join(dir, missing)), false);
    });
  }

  it('names the files of a pair that does not match or does not parse', async () => {
    const [a, b] = [await own(), await own()];
    writeFileSync(join(dir, 'tls.key'), a.keyPem);
    writeFileSync(join(dir, 'tls.crt'), b.certPem);
    await assert.rejects(ensureTlsCertificate(dir, 'localhost'), /tls\.key is not the key of the certificate .*tls\.crt/);
    writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
    await assert.rejects(ensureTlsCertificate(dir, 'localhost'), /TLS certificate .*tls\.crt cannot be read/);
    writeFileSync(join(dir, 'tls.crt'), a.certPem);
    writeFileSync(join(dir, 'tls.key'), 'not a key');
    await assert.rejects(ensureTlsCertificate(dir, 'localhost'), /TLS key .*tls\.key cannot be read/);
  });
});
