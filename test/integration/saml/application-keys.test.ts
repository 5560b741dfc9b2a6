import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { Constants, ServiceProvider } from 'samlify';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { createSelfSignedCertificate } from '../../../src/util/certificates.js';
import { events } from './support.js';

/** Per-app signing keys (generated, sealed at rest, uploaded, regenerated) and SP metadata import over the REST API. */
describe('SAML application keys and SP metadata', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let appId: string;

  const rawRow = (sql: string, params: unknown[]) =>
    new Promise<Record<string, unknown> | undefined>((resolve, reject) => {
      const db = new sqlite3.Database(join(gh.dataDir, 'data', 'gatehouse.sqlite'), sqlite3.OPEN_READONLY);
      db.get(sql, params, (err, row) => {
        db.close();
        if (err) reject(err);
        else resolve(row as Record<string, unknown> | undefined);
      });
    });

  before(async () => {
    gh = await startAppliance();
    const r = await gh.api('POST', '/api/applications', { name: 'keys', config: { spEntityId: 'https://keys.example', acsUrls: ['https://keys.example/acs'] } });
    assert.equal(r.status, 201);
    appId = r.body._id;
  });
  after(async () => gh?.stop());

  it('generates an RSA-2048 certificate at creation and never shows the private key', async () => {
    const res = await fetch(`${gh.httpUrl}/api/applications/${appId}`, { headers: { 'x-api-key': gh.apiKey } });
    const text = await res.text();
    assert.doesNotMatch(text, /PRIVATE KEY|signing_key|sealed/i);
    const body = JSON.parse(text);
    const cert = new X509Certificate(body.config.idpCertificate);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(body.config.idpMetadataUrl, `${body.ssoUrl}/metadata`);
  });

  it('keeps the key sealed at rest', async () => {
    const row = await rawRow('SELECT signing_key FROM application_credentials WHERE app_id = ?', [appId]);
    assert.ok(row);
    assert.match(String(row.signing_key), /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.doesNotMatch(String(row.signing_key), /PRIVATE KEY/);
  });

  it('regenerates the key on request, and the metadata follows', async () => {
    const before = (await gh.api('GET', `/api/applications/${appId}`)).body.config.idpCertificate;
    const r = await gh.api('POST', `/api/applications/${appId}/signing-key`, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.notEqual(r.body.config.idpCertificate, before);
    const metadata = await (await fetch(`${gh.httpUrl}/saml2/keys/metadata`)).text();
    assert.ok(metadata.includes(r.body.config.idpCertificate.replace(/-----[^-]+-----|\s/g, '')));
    const e = (await events(gh, 'application_update')).find((x) => x.resource.id === appId);
    assert.equal(e?.changes[0].field, 'idpCertificate');
    assert.match(e?.changes[0].to, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('takes an uploaded key and certificate, and refuses a pair that does not match', async () => {
    const mine = await createSelfSignedCertificate({ commonName: 'my idp', days: 365 });
    const other = await createSelfSignedCertificate({ commonName: 'other', days: 365 });
    const bad = await gh.api('POST', `/api/applications/${appId}/signing-key`, { privateKey: other.keyPem, certificate: mine.certPem });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'privateKey');
    assert.doesNotMatch(JSON.stringify(bad.body), /PRIVATE KEY/);
    const ok = await gh.api('POST', `/api/applications/${appId}/signing-key`, { privateKey: mine.keyPem, certificate: mine.certPem });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(new X509Certificate(ok.body.config.idpCertificate).fingerprint256, new X509Certificate(mine.certPem).fingerprint256);
  });

  it('imports SP metadata: entity ID, POST ACS URLs, signing certificate and AuthnRequestsSigned', async () => {
    const pair = await createSelfSignedCertificate({ commonName: 'sp', days: 30 });
    const metadata = ServiceProvider({
      entityID: 'https://imported.example/sp',
      signingCert: pair.certPem,
      authnRequestsSigned: true,
      assertionConsumerService: [
        { Binding: Constants.namespace.binding.post, Location: 'https://imported.example/acs' },
        { Binding: Constants.namespace.binding.redirect, Location: 'https://imported.example/acs-redirect' },
      ],
    }).getMetadata();
    const r = await gh.api('POST', '/api/applications', { name: 'imported', spMetadata: metadata });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.config.spEntityId, 'https://imported.example/sp');
    assert.deepEqual(r.body.config.acsUrls, ['https://imported.example/acs']);
    assert.equal(new X509Certificate(r.body.config.spCertificate).fingerprint256, new X509Certificate(pair.certPem).fingerprint256);
    assert.equal(r.body.config.requireSignedRequests, true);
  });

  it('refuses hostile or broken metadata with a 400 naming spMetadata, and creates nothing', async () => {
    for (const xml of [
      '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&e;"/>',
      '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:Bogus/></md:EntityDescriptor>',
      'not xml',
    ]) {
      const r = await gh.api('POST', '/api/applications', { name: 'hostile', spMetadata: xml });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.field, 'spMetadata');
    }
    assert.equal((await gh.api('GET', '/api/applications')).body.results.some((a: { name: string }) => a.name === 'hostile'), false);
  });

  it('refuses requireSignedRequests without an SP certificate', async () => {
    const r = await gh.api('PUT', `/api/applications/${appId}`, { config: { requireSignedRequests: true } });
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'config.requireSignedRequests');
  });
});
