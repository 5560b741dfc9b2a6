import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { createSelfSignedCertificate } from '../../../src/util/certificates.js';
import { Browser, events, type Page } from '../../integration/saml/support.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const SP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pysaml2_sp.py');
const PASSWORD = 'Sunny-Meadow-41';
const SP_ID = 'https://pysp.example.test/sp';
const SP_ACS = 'https://pysp.example.test/acs';

/** Debian's pysaml2 must be importable by /usr/bin/python3 (not the pyenv python first on PATH). */
async function requirePysaml2(ctx: Mocha.Context): Promise<void> {
  try {
    await run(PYTHON, ['-c', 'import saml2.client']);
  } catch {
    if (process.env.CI) throw new Error('pysaml2 is required in CI (apt-get install -y python3-pysaml2)');
    console.warn('      skipped: pysaml2 not installed (apt-get install -y python3-pysaml2)');
    ctx.skip();
  }
}

/**
 * Interop with a SAML SP that Gatehouse did not write: pysaml2 (Debian's python3-pysaml2) makes the
 * AuthnRequests and checks the responses with its own code (xmlsec1 signatures, Audience,
 * Recipient, InResponseTo, validity); xmlsec1 verifies the signatures against the certificate of
 * the IdP metadata; oathtool computes the TOTP codes. The appliance runs in-process, so every
 * client runs asynchronously.
 */
describe('SAML interop with pysaml2, xmlsec1 and oathtool', function () {
  this.timeout(120_000);
  let gh: RunningAppliance;
  let state: string;
  let appId: string;
  let groupId: string;
  const userIds: Record<string, string> = {};

  const sp = async (...args: string[]) => {
    try {
      const { stdout } = await run(PYTHON, [SP_SCRIPT, ...args], { env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
      return { code: 0, out: JSON.parse(stdout.trim().split('\n').pop()!) };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      if (e.code === 2 && e.stdout) return { code: 2, out: JSON.parse(e.stdout.trim().split('\n').pop()!) };
      throw new Error(`pysaml2 failed: ${e.stderr ?? String(err)}`);
    }
  };
  const configure = async (o: { signRequests?: boolean; allowUnsolicited?: boolean; wantResponseSigned?: boolean } = {}) => {
    writeFileSync(join(state, 'idp.xml'), await (await fetch(`${gh.httpUrl}/saml2/pysp/metadata`)).text());
    writeFileSync(
      join(state, 'config.json'),
      JSON.stringify({ entity_id: SP_ID, acs: SP_ACS, sign_requests: o.signRequests ?? false, allow_unsolicited: o.allowUnsolicited ?? false, want_response_signed: o.wantResponseSigned ?? false }),
    );
  };
  /** The SAMLResponse of an auto-post page, handed to pysaml2. */
  const check = async (page: Page) => {
    assert.equal(page.status, 200, page.text.slice(0, 300));
    const form = page.form(/^https:/);
    assert.equal(form.action, SP_ACS);
    writeFileSync(join(state, 'response.b64'), form.fields.SAMLResponse!);
    return sp('response', state, join(state, 'response.b64'));
  };
  /** Follows pysaml2's request (with pysaml2_sp.py's request options) to the page Gatehouse answers with. */
  const start = async (b: Browser, binding: 'redirect' | 'post', relayState?: string, options: string[] = []) => {
    const r = await sp('request', state, binding, ...(relayState ? [relayState] : []), ...options);
    if (binding === 'redirect') return { id: r.out.id as string, page: await b.get(r.out.url) };
    const first = await b.request('POST', r.out.action, r.out.fields);
    assert.equal(first.status, 303, first.text.slice(0, 300));
    return { id: r.out.id as string, page: await b.get(first.location!) };
  };

  before(async function () {
    requireBinary(this, 'xmlsec1', 'xmlsec1');
    requireBinary(this, 'oathtool', 'oathtool');
    await requirePysaml2(this);
    gh = await startAppliance();
    state = mkdtempSync(join(tmpdir(), 'gatehouse-pysaml2-'));
    const pair = await createSelfSignedCertificate({ commonName: 'pysp.example.test', days: 30 });
    writeFileSync(join(state, 'sp.key'), pair.keyPem);
    writeFileSync(join(state, 'sp.crt'), pair.certPem);
    const app = await gh.api('POST', '/api/applications', {
      name: 'pysp',
      displayLabel: 'PySAML SP',
      config: {
        spEntityId: SP_ID,
        acsUrls: [SP_ACS],
        attributes: [
          { name: 'mail', value: 'email' },
          { name: 'uid', value: 'username' },
        ],
        constantAttributes: [{ name: 'tier', value: 'gold' }],
        groupAttribute: 'groups',
      },
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    appId = app.body._id;
    const group = await gh.api('POST', '/api/v2/usergroups', { name: 'py-users' });
    groupId = group.body.id;
    await gh.api('POST', `/api/v2/usergroups/${group.body.id}/associations`, { op: 'add', type: 'application', id: appId });
    for (const u of ['ivy', 'mallory', 'tom']) {
      const r = await gh.api('POST', '/api/systemusers', { username: u, email: `${u}@example.com`, password: PASSWORD });
      userIds[u] = r.body._id;
    }
    for (const u of ['ivy', 'tom']) await gh.api('POST', `/api/v2/usergroups/${group.body.id}/members`, { op: 'add', type: 'user', id: userIds[u] });
    await configure();
  });
  after(async () => {
    await gh?.stop();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  for (const binding of ['redirect', 'post'] as const) {
    it(`completes an SP-initiated login over HTTP-${binding === 'redirect' ? 'Redirect' : 'POST'}, and pysaml2 accepts the response`, async () => {
      const b = new Browser(gh.httpUrl);
      const { id, page } = await start(b, binding, `rs-${binding}`);
      assert.match(page.text, /Sign in to continue to PySAML SP/);
      const post = await b.submit(page, { login: 'ivy', password: PASSWORD });
      assert.equal(post.form(/^https:/).fields.RelayState, `rs-${binding}`);
      const r = await check(post);
      assert.equal(r.code, 0, JSON.stringify(r.out));
      assert.equal(r.out.in_response_to, id);
      assert.deepEqual(r.out.audience, [SP_ID]);
      assert.equal(r.out.recipient, SP_ACS);
      assert.equal(r.out.destination, SP_ACS);
      assert.equal(r.out.name_id, 'ivy@example.com');
      assert.equal(r.out.assertion_signed, true);
      assert.equal(r.out.response_signed, true);
      assert.deepEqual(r.out.ava.mail, ['ivy@example.com'], JSON.stringify(r.out.ava));
      assert.deepEqual(r.out.ava.uid, ['ivy']);
      assert.deepEqual(r.out.ava.tier, ['gold']);
      assert.deepEqual(r.out.ava.groups, ['py-users']);
      assert.match(r.out.session_index, /^[0-9a-f]{32}$/);
    });
  }

  it('is refused by pysaml2 when the InResponseTo is not its outstanding request', async () => {
    const b = new Browser(gh.httpUrl);
    const { page } = await start(b, 'redirect');
    const post = await b.submit(page, { login: 'ivy', password: PASSWORD });
    await sp('request', state, 'redirect'); // a new request replaces the outstanding one
    const r = await check(post);
    assert.equal(r.code, 2, 'pysaml2 accepted a response to a request it did not make');
  });

  /** xmlsec1 --verify of the Response's or the Assertion's signature, with the certificate of the IdP metadata. */
  const verify = async (file: string, node: 'Assertion' | 'Response') => {
    const metadata = await (await fetch(`${gh.httpUrl}/saml2/pysp/metadata`)).text();
    const body = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata)![1]!;
    writeFileSync(join(state, 'idp.pem'), `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);
    return run('xmlsec1', [
      '--verify',
      '--pubkey-cert-pem',
      join(state, 'idp.pem'),
      '--id-attr:ID',
      'urn:oasis:names:tc:SAML:2.0:protocol:Response',
      '--id-attr:ID',
      'urn:oasis:names:tc:SAML:2.0:assertion:Assertion',
      '--node-xpath',
      `/*[local-name()='Response']${node === 'Assertion' ? "/*[local-name()='Assertion']" : ''}/*[local-name()='Signature']`,
      file,
    ]);
  };

  it('signs the assertion and the response so that xmlsec1 verifies both with the metadata certificate, and not after tampering', async () => {
    const b = new Browser(gh.httpUrl);
    const post = await b.submit((await start(b, 'redirect')).page, { login: 'ivy', password: PASSWORD });
    const xml = Buffer.from(post.form(/^https:/).fields.SAMLResponse!, 'base64').toString('utf8');
    writeFileSync(join(state, 'response.xml'), xml);
    for (const node of ['Assertion', 'Response'] as const) {
      const { stderr } = await verify(join(state, 'response.xml'), node);
      assert.match(stderr, /^OK/m, `${node}: ${stderr}`);
    }
    writeFileSync(join(state, 'tampered.xml'), xml.replace('>ivy@example.com</saml:NameID>', '>mallory@example.com</saml:NameID>'));
    for (const node of ['Assertion', 'Response'] as const) {
      await assert.rejects(verify(join(state, 'tampered.xml'), node), `${node} signature still verified after tampering`);
    }
  });

  it('refuses a user who is not assigned to the app, and records an sso_auth event', async () => {
    const b = new Browser(gh.httpUrl);
    const page = await b.submit((await start(b, 'redirect')).page, { login: 'mallory', password: PASSWORD });
    assert.equal(page.status, 403);
    assert.match(page.text, /not assigned to PySAML SP/);
    const e = (await events(gh, 'sso_auth')).find((x) => x.initiated_by.username === 'mallory');
    assert.equal(e?.success, false);
  });

  it('asks for a TOTP code (oathtool), accepts it once, and refuses its replay', async () => {
    const t = await gh.api('POST', `/api/systemusers/${userIds.tom}/totp`, {});
    const { stdout } = await run('oathtool', ['--totp', '-b', t.body.secret]);
    const code = stdout.trim();
    const b1 = new Browser(gh.httpUrl);
    const totp = await b1.submit((await start(b1, 'redirect')).page, { login: 'tom', password: PASSWORD });
    assert.match(totp.text, /Two-step verification/);
    const r = await check(await b1.submit(totp, { otp: code }));
    assert.equal(r.code, 0, JSON.stringify(r.out));
    assert.equal(r.out.name_id, 'tom@example.com');
    const b2 = new Browser(gh.httpUrl);
    const again = await b2.submit((await start(b2, 'post')).page, { login: 'tom', password: PASSWORD });
    const replay = await b2.submit(again, { otp: code });
    assert.equal(replay.status, 401);
    assert.match(replay.text, /already used/);
    const e = (await events(gh, 'sso_auth')).find((x) => x.initiated_by.username === 'tom' && x.success);
    assert.equal(e?.mfa, true);
  });

  it('launches IdP-initiated from the portal, and pysaml2 (accepting unsolicited responses) takes it', async () => {
    await configure({ allowUnsolicited: true });
    try {
      const b = new Browser(gh.httpUrl);
      await b.submit(await b.get('/'), { login: 'ivy', password: PASSWORD }, '/login');
      writeFileSync(join(state, 'outstanding.json'), '{}');
      const r = await check(await b.get('/saml2/pysp?launch=1'));
      assert.equal(r.code, 0, JSON.stringify(r.out));
      assert.equal(r.out.in_response_to, null);
      assert.equal(r.out.name_id, 'ivy@example.com');
    } finally {
      await configure();
    }
  });

  it('sends signed requests that Gatehouse verifies when the app requires them', async () => {
    const cert = (await import('node:fs')).readFileSync(join(state, 'sp.crt'), 'utf8');
    const put = await gh.api('PUT', `/api/applications/${appId}`, { config: { spCertificate: cert, requireSignedRequests: true } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    try {
      await configure({ signRequests: true });
      for (const binding of ['redirect', 'post'] as const) {
        const b = new Browser(gh.httpUrl);
        const { id, page } = await start(b, binding);
        const r = await check(await b.submit(page, { login: 'ivy', password: PASSWORD }));
        assert.equal(r.code, 0, JSON.stringify(r.out));
        assert.equal(r.out.in_response_to, id);
      }
      await configure({ signRequests: false });
      const b = new Browser(gh.httpUrl);
      const r = await sp('request', state, 'redirect');
      const page = await b.get(r.out.url);
      assert.equal(page.status, 400);
      assert.match(page.text, /signed requests only/);
    } finally {
      await gh.api('PUT', `/api/applications/${appId}`, { config: { requireSignedRequests: false } });
      await configure();
    }
  });

  it("answers AssertionConsumerServiceIndex with the endpoint of that index in the SP's imported metadata (pysaml2 numbers from 1)", async () => {
    // A second pysaml2 SP with two ACS endpoints, registered from the metadata pysaml2 writes.
    const two = mkdtempSync(join(tmpdir(), 'gatehouse-pysaml2-idx-'));
    const ACS = ['https://pyidx.example.test/acs/first', 'https://pyidx.example.test/acs/second'];
    try {
      const { readFileSync } = await import('node:fs');
      for (const f of ['sp.key', 'sp.crt']) writeFileSync(join(two, f), readFileSync(join(state, f)));
      writeFileSync(join(two, 'config.json'), JSON.stringify({ entity_id: 'https://pyidx.example.test/sp', acs: ACS }));
      // pysaml2 loads an IdP's metadata to start: any will do until the app exists.
      writeFileSync(join(two, 'idp.xml'), readFileSync(join(state, 'idp.xml')));
      const { stdout: metadata } = await run(PYTHON, [SP_SCRIPT, 'metadata', two], { env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
      assert.match(metadata, /Location="https:\/\/pyidx\.example\.test\/acs\/first" index="1"/);
      const app = await gh.api('POST', '/api/applications', { name: 'pyidx', displayLabel: 'Indexed SP', spMetadata: metadata });
      assert.equal(app.status, 201, JSON.stringify(app.body));
      assert.deepEqual(app.body.config.acsIndexes, [
        { index: 1, url: ACS[0] },
        { index: 2, url: ACS[1] },
      ]);
      await gh.api('POST', `/api/v2/usergroups/${groupId}/associations`, { op: 'add', type: 'application', id: app.body._id });
      writeFileSync(join(two, 'idp.xml'), await (await fetch(`${gh.httpUrl}/saml2/pyidx/metadata`)).text());

      for (const [index, acs] of [
        ['2', ACS[1]!],
        ['1', ACS[0]!],
      ] as const) {
        const r = await sp('request', two, 'redirect', `--acs-index=${index}`);
        const b = new Browser(gh.httpUrl);
        const post = await b.submit(await b.get(r.out.url), { login: 'ivy', password: PASSWORD });
        assert.equal(post.status, 200, post.text.slice(0, 300));
        const form = post.form(/^https:/);
        assert.equal(form.action, acs, `index ${index}`);
        writeFileSync(join(two, 'response.b64'), form.fields.SAMLResponse!);
        const parsed = await sp('response', two, join(two, 'response.b64'));
        assert.equal(parsed.code, 0, JSON.stringify(parsed.out));
        assert.equal(parsed.out.in_response_to, r.out.id);
        assert.equal(parsed.out.recipient, acs);
      }
      // Index 0 is in no metadata here: refused, not the first URL of the list.
      const r0 = await sp('request', two, 'redirect', '--acs-index=0');
      const refused = await new Browser(gh.httpUrl).get(r0.out.url);
      assert.equal(refused.status, 400);
      assert.match(refused.text, /ACS index that is not registered/);
    } finally {
      rmSync(two, { recursive: true, force: true });
    }
  });

  describe('SP-initiated single logout (SAML profiles §4.4), with pysaml2 as the SP', () => {
    const SLO_SP = 'https://pyslo.example.test/sp';
    const SLO_ACS = 'https://pyslo.example.test/acs';
    const SLO_URL = 'https://pyslo.example.test/slo';
    const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';
    let slo: string;
    let idpSlo: string;
    const slosp = (...args: string[]) => sp(args[0]!, slo, ...args.slice(1));

    before(async () => {
      // A pysaml2 SP with a single logout endpoint, registered from the metadata pysaml2 writes
      // (which carries its signing certificate and its SingleLogoutService).
      slo = mkdtempSync(join(tmpdir(), 'gatehouse-pysaml2-slo-'));
      const { readFileSync } = await import('node:fs');
      for (const f of ['sp.key', 'sp.crt', 'idp.xml']) writeFileSync(join(slo, f), readFileSync(join(state, f)));
      writeFileSync(join(slo, 'config.json'), JSON.stringify({ entity_id: SLO_SP, acs: SLO_ACS, slo: SLO_URL }));
      const { stdout: metadata } = await run(PYTHON, [SP_SCRIPT, 'metadata', slo], { env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
      assert.match(metadata, /SingleLogoutService/);
      const app = await gh.api('POST', '/api/applications', { name: 'pyslo', displayLabel: 'Logout SP', spMetadata: metadata });
      assert.equal(app.status, 201, JSON.stringify(app.body));
      assert.equal(app.body.config.sloUrl, SLO_URL);
      assert.equal(app.body.config.sloBinding, 'redirect');
      assert.match(app.body.config.spCertificate, /BEGIN CERTIFICATE/);
      idpSlo = app.body.config.idpSloUrl;
      await gh.api('POST', `/api/v2/usergroups/${groupId}/associations`, { op: 'add', type: 'application', id: app.body._id });
      assert.doesNotMatch(await (await fetch(`${gh.httpUrl}/saml2/pysp/metadata`)).text(), /SingleLogoutService/, 'an app without single logout lists none');
      const idpMetadata = await (await fetch(`${gh.httpUrl}/saml2/pyslo/metadata`)).text();
      assert.match(idpMetadata, new RegExp(`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${idpSlo}"/>`));
      writeFileSync(join(slo, 'idp.xml'), idpMetadata);
    });
    after(() => rmSync(slo, { recursive: true, force: true }));

    /** Signs ivy in to the SP through Gatehouse; pysaml2 reads the assertion's NameID and SessionIndex. */
    const signedIn = async () => {
      const b = new Browser(gh.httpUrl);
      const r = await slosp('request', 'redirect');
      const post = await b.submit(await b.get(r.out.url), { login: 'ivy', password: PASSWORD });
      writeFileSync(join(slo, 'response.b64'), post.form(/^https:/).fields.SAMLResponse!);
      const a = await slosp('response', join(slo, 'response.b64'));
      assert.equal(a.code, 0, JSON.stringify(a.out));
      return { b, nameId: a.out.name_id as string, format: a.out.name_id_format as string, sessionIndex: a.out.session_index as string };
    };
    const portalSignedIn = async (b: Browser) => /Your apps/.test((await b.get('/')).text);

    it('ends the session and answers with a signed Success LogoutResponse that pysaml2 verifies, with the RelayState; a replay is refused', async () => {
      const { b, nameId, format, sessionIndex } = await signedIn();
      assert.equal(await portalSignedIn(b), true);
      const req = await slosp('logout', idpSlo, nameId, format, sessionIndex, 'back-home');
      const answer = await b.request('GET', req.out.url);
      assert.equal(answer.status, 303, answer.body.slice(0, 300));
      assert.ok(answer.location!.startsWith(`${SLO_URL}?`), answer.location!);
      const r = await slosp('logout-response', answer.location!);
      assert.equal(r.code, 0, JSON.stringify(r.out));
      assert.equal(r.out.signature_ok, true);
      assert.equal(r.out.sig_alg, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      assert.deepEqual(r.out.status, [`${STATUS}Success`]);
      assert.equal(r.out.in_response_to, req.out.id);
      assert.equal(r.out.destination, SLO_URL);
      assert.equal(r.out.relay_state, 'back-home');
      assert.equal(await portalSignedIn(b), false, 'the Gatehouse session is over');
      const e = (await events(gh, 'sso_logout')).find((x) => x.application?.name === 'pyslo');
      assert.equal(e?.success, true);
      assert.equal(e?.initiated_by.username, 'ivy');

      const replay = await new Browser(gh.httpUrl).request('GET', req.out.url);
      assert.equal(replay.status, 400);
      assert.match(replay.body, /already used/);
    });

    it("keeps a session that is not the one named (another user's NameID, another SessionIndex) and says UnknownPrincipal", async () => {
      const { b, nameId, format, sessionIndex } = await signedIn();
      for (const [who, index] of [
        ['mallory@example.com', sessionIndex],
        [nameId, 'f'.repeat(32)],
      ] as const) {
        const req = await slosp('logout', idpSlo, who, format, index);
        const answer = await b.request('GET', req.out.url);
        assert.equal(answer.status, 303);
        const r = await slosp('logout-response', answer.location!);
        assert.equal(r.code, 2, 'pysaml2 takes UnknownPrincipal as a failed logout');
        assert.equal(r.out.error, 'StatusUnknownPrincipal', JSON.stringify(r.out));
        assert.equal(r.out.signature_ok, true);
        assert.equal(r.out.in_response_to, req.out.id);
        assert.deepEqual(r.out.status, [`${STATUS}Requester`, `${STATUS}UnknownPrincipal`], `${who} ${index}`);
        assert.equal(await portalSignedIn(b), true, 'the session stays');
      }
    });

    it('answers over HTTP-POST when the SP registered that binding: a signed LogoutResponse that xmlsec1 verifies', async () => {
      const put = await gh.api('GET', '/api/applications?limit=100');
      const app = (put.body.results ?? put.body).find((a: { name: string }) => a.name === 'pyslo');
      assert.equal((await gh.api('PUT', `/api/applications/${app._id}`, { config: { sloBinding: 'post' } })).status, 200);
      try {
        const { b, nameId, format, sessionIndex } = await signedIn();
        const req = await slosp('logout', idpSlo, nameId, format, sessionIndex, 'rs-post');
        const page = await b.request('GET', req.out.url);
        assert.equal(page.status, 200, page.body.slice(0, 300));
        assert.match(page.body, /Signing out of Logout SP/);
        const form = page.form(/^https:/);
        assert.equal(form.action, SLO_URL);
        assert.equal(form.fields.RelayState, 'rs-post');
        const xml = Buffer.from(form.fields.SAMLResponse!, 'base64').toString('utf8');
        assert.match(xml, new RegExp(`InResponseTo="${req.out.id}"`));
        assert.match(xml, /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Success"\/>/);
        const metadata = await (await fetch(`${gh.httpUrl}/saml2/pyslo/metadata`)).text();
        const body = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata)![1]!;
        writeFileSync(join(slo, 'idp.pem'), `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);
        writeFileSync(join(slo, 'logout.xml'), xml);
        const { stderr } = await run('xmlsec1', ['--verify', '--pubkey-cert-pem', join(slo, 'idp.pem'), '--id-attr:ID', 'urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse', join(slo, 'logout.xml')]);
        assert.match(stderr, /^OK/m);
        assert.equal(await portalSignedIn(b), false);
      } finally {
        await gh.api('PUT', `/api/applications/${app._id}`, { config: { sloBinding: 'redirect' } });
      }
    });

    it('refuses an unsigned logout request, one with a signature that does not verify, and one from another SP, and ends nothing', async () => {
      const { b, nameId, format, sessionIndex } = await signedIn();
      const req = await slosp('logout', idpSlo, nameId, format, sessionIndex);
      const url = new URL(req.out.url);
      const unsigned = new URL(url);
      unsigned.searchParams.delete('Signature');
      unsigned.searchParams.delete('SigAlg');
      const forged = new URL(url);
      const sig = Buffer.from(forged.searchParams.get('Signature')!, 'base64');
      sig[10] = sig[10]! ^ 1;
      forged.searchParams.set('Signature', sig.toString('base64'));
      for (const [u, why] of [
        [unsigned.toString(), /must be signed/],
        [forged.toString(), /does not verify/],
      ] as const) {
        const page = await b.request('GET', u);
        assert.equal(page.status, 400, page.body.slice(0, 200));
        assert.match(page.body, why);
      }
      // The pysp app is another SP: its entity ID is not this app's.
      const other = await sp('logout', state, idpSlo, nameId, format, sessionIndex);
      const page = await b.request('GET', other.out.url);
      assert.equal(page.status, 400);
      assert.match(page.body, /not registered for this application/);
      assert.equal(await portalSignedIn(b), true, 'no session was ended');
    });
  });

  describe('error statuses pysaml2 reads (SAML core §3.4.1, §3.4.1.1, §3.3.2.2.1), and replays', () => {
    const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';
    const REFEDS_MFA = 'https://refeds.org/profile/mfa';
    // pysaml2 is told to require a signed Response: an unsigned error answer would be a SignatureError.
    beforeEach(() => configure({ wantResponseSigned: true }));
    afterEach(() => configure());

    /** pysaml2's verdict on an error answer: refused with the status exception, the two codes, no assertion. */
    const expectStatus = async (page: Page, id: string, exception: string, top: string, second: string) => {
      const r = await check(page);
      assert.equal(r.code, 2, `pysaml2 accepted an error answer: ${JSON.stringify(r.out)}`);
      assert.equal(r.out.error, exception, JSON.stringify(r.out));
      assert.deepEqual(r.out.status, [STATUS + top, STATUS + second]);
      assert.equal(r.out.assertions, 0);
      const xml = Buffer.from(page.form(/^https:/).fields.SAMLResponse!, 'base64').toString('utf8');
      assert.match(xml, new RegExp(`InResponseTo="${id}"`));
      return xml;
    };

    for (const binding of ['redirect', 'post'] as const) {
      it(`answers a passive request over HTTP-${binding === 'redirect' ? 'Redirect' : 'POST'} without a session with a signed NoPassive response, which pysaml2 verifies and reads`, async () => {
        const b = new Browser(gh.httpUrl);
        const { id, page } = await start(b, binding, `rs-passive-${binding}`, ['--passive']);
        assert.doesNotMatch(page.text, /Sign in to continue/);
        assert.equal(page.form(/^https:/).fields.RelayState, `rs-passive-${binding}`);
        await expectStatus(page, id, 'StatusNoPassive', 'Responder', 'NoPassive');
        const e = (await events(gh, 'sso_auth')).find((x) => /^NoPassive: /.test(x.error_message ?? ''));
        assert.equal(e?.success, false);
        assert.equal(e?.application.name, 'pysp');
      });
    }

    it('signs the error response so that xmlsec1 verifies it with the metadata certificate, and pysaml2 refuses it once tampered', async () => {
      const b = new Browser(gh.httpUrl);
      const { id, page } = await start(b, 'redirect', undefined, ['--passive']);
      const xml = await expectStatus(page, id, 'StatusNoPassive', 'Responder', 'NoPassive');
      assert.match(xml, /SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"/);
      writeFileSync(join(state, 'error.xml'), xml);
      const { stderr } = await verify(join(state, 'error.xml'), 'Response');
      assert.match(stderr, /^OK/m, stderr);
      const tampered = xml.replace(`${STATUS}NoPassive`, `${STATUS}NoAuthnContext`);
      assert.notEqual(tampered, xml);
      writeFileSync(join(state, 'tampered-error.xml'), tampered);
      await assert.rejects(verify(join(state, 'tampered-error.xml'), 'Response'), 'the error response signature still verified after tampering');
      writeFileSync(join(state, 'response.b64'), Buffer.from(tampered).toString('base64'));
      const r = await sp('response', state, join(state, 'response.b64'));
      assert.equal(r.code, 2);
      assert.match(r.out.error, /Signature/, `pysaml2 did not check the signature first: ${JSON.stringify(r.out)}`);
    });

    it('answers a passive request with an assertion when the browser has a session', async () => {
      const b = new Browser(gh.httpUrl);
      await b.submit(await b.get('/'), { login: 'ivy', password: PASSWORD }, '/login');
      const { id, page } = await start(b, 'redirect', undefined, ['--passive']);
      const r = await check(page);
      assert.equal(r.code, 0, JSON.stringify(r.out));
      assert.equal(r.out.in_response_to, id);
    });

    it('answers a NameIDPolicy the app cannot honour with InvalidNameIDPolicy, and honours its own format with AllowCreate', async () => {
      const b = new Browser(gh.httpUrl);
      const { id, page } = await start(b, 'redirect', undefined, ['--nameid-format=urn:oasis:names:tc:SAML:2.0:nameid-format:persistent']);
      await expectStatus(page, id, 'StatusInvalidNameidPolicy', 'Requester', 'InvalidNameIDPolicy');
      const e = (await events(gh, 'sso_auth')).find((x) => /^InvalidNameIDPolicy: .*persistent/.test(x.error_message ?? ''));
      assert.equal(e?.success, false);
      const ok = await start(b, 'post', undefined, ['--nameid-format=urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress']);
      const r = await check(await b.submit(ok.page, { login: 'ivy', password: PASSWORD }));
      assert.equal(r.code, 0, JSON.stringify(r.out));
      assert.equal(r.out.name_id_format, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
      // A transient identifier, as SimpleSAMLphp SPs ask by default: a one-time value pysaml2 accepts.
      const transient = await start(b, 'redirect', undefined, ['--nameid-format=urn:oasis:names:tc:SAML:2.0:nameid-format:transient']);
      const t = await check(transient.page);
      assert.equal(t.code, 0, JSON.stringify(t.out));
      assert.equal(t.out.name_id_format, 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
      assert.match(t.out.name_id, /^_[0-9a-f]{40}$/);
    });

    it('answers a request for multi-factor authentication with NoAuthnContext for a user without TOTP, and asserts REFEDS MFA after a code (oathtool)', async () => {
      const b = new Browser(gh.httpUrl);
      const { id, page } = await start(b, 'redirect', undefined, [`--authn-context=exact:${REFEDS_MFA}`]);
      await expectStatus(await b.submit(page, { login: 'ivy', password: PASSWORD }), id, 'StatusNoAuthnContext', 'Requester', 'NoAuthnContext');
      // The sign-in's own event says why (one event per attempt).
      const e = (await events(gh, 'sso_auth')).find((x) => x.initiated_by.username === 'ivy');
      assert.equal(e?.success, false);
      assert.match(e?.error_message ?? '', /MFA enrol/);

      const u = await gh.api('POST', '/api/systemusers', { username: 'una', email: 'una@example.com', password: PASSWORD });
      await gh.api('POST', `/api/v2/usergroups/${groupId}/members`, { op: 'add', type: 'user', id: u.body._id });
      const t = await gh.api('POST', `/api/systemusers/${u.body._id}/totp`, {});
      const b2 = new Browser(gh.httpUrl);
      const mfa = await start(b2, 'post', undefined, [`--authn-context=exact:${REFEDS_MFA}`]);
      const totp = await b2.submit(mfa.page, { login: 'una', password: PASSWORD });
      assert.match(totp.text, /Two-step verification/);
      const code = (await run('oathtool', ['--totp', '-b', t.body.secret])).stdout.trim();
      const r = await check(await b2.submit(totp, { otp: code }));
      assert.equal(r.code, 0, JSON.stringify(r.out));
      assert.equal(r.out.in_response_to, mfa.id);
      assert.equal(r.out.authn_class, REFEDS_MFA);
    });

    it('refuses a replayed request with a page and records it, and answers the first one still', async () => {
      const r = await sp('request', state, 'redirect');
      const b1 = new Browser(gh.httpUrl);
      const first = await b1.get(r.out.url);
      assert.match(first.text, /Sign in to continue to PySAML SP/);
      const b2 = new Browser(gh.httpUrl);
      const replay = await b2.get(r.out.url);
      assert.equal(replay.status, 400);
      assert.match(replay.text, /already used/);
      assert.equal(replay.forms().some((f) => f.action.startsWith('http')), false);
      const e = (await events(gh, 'sso_auth')).find((x) => /^replayed SAML request/.test(x.error_message ?? ''));
      assert.equal(e?.success, false);
      assert.equal(e?.application.name, 'pysp');
      const ok = await check(await b1.submit(first, { login: 'ivy', password: PASSWORD }));
      assert.equal(ok.code, 0, JSON.stringify(ok.out));
      assert.equal(ok.out.in_response_to, r.out.id);
    });
  });
});
