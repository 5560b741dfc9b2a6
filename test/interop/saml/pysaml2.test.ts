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
  /** Follows pysaml2's request to the login page. */
  const start = async (b: Browser, binding: 'redirect' | 'post', relayState?: string) => {
    const r = await sp('request', state, binding, ...(relayState ? [relayState] : []));
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

  it('signs the assertion and the response so that xmlsec1 verifies both with the metadata certificate, and not after tampering', async () => {
    const b = new Browser(gh.httpUrl);
    const post = await b.submit((await start(b, 'redirect')).page, { login: 'ivy', password: PASSWORD });
    const xml = Buffer.from(post.form(/^https:/).fields.SAMLResponse!, 'base64').toString('utf8');
    const metadata = await (await fetch(`${gh.httpUrl}/saml2/pysp/metadata`)).text();
    const body = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata)![1]!;
    writeFileSync(join(state, 'idp.pem'), `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`);
    const verify = async (file: string, node: 'Assertion' | 'Response') =>
      run('xmlsec1', [
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
});
