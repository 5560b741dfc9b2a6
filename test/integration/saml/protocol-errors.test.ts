import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SamlLib } from 'samlify';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { createFakeClock } from '../../helpers/fake-clock.js';
import { parseXml } from '../../../src/saml/authn-request.js';
import { authnRequestXml, Browser, events, forPost, forRedirect, postRequest, responseXml, SP_ACS, SP_ENTITY, testSp, totpCodes, type Page, type TestSp } from './support.js';

const PASSWORD = 'Sunny-Meadow-41';
const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const AC = 'urn:oasis:names:tc:SAML:2.0:ac:classes:';
const REFEDS_MFA = 'https://refeds.org/profile/mfa';
const NAMEID = {
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  encrypted: 'urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted',
};

/** An AuthnRequest of the wiki's SP with the given root attributes and children (schema order: NameIDPolicy, then RequestedAuthnContext). */
function request(o: { attrs?: string; policy?: string; context?: string; id?: string; issueInstant?: Date } = {}) {
  const id = o.id ?? `_${randomBytes(10).toString('hex')}`;
  let xml = authnRequestXml({ acs: SP_ACS, id, extra: `${o.policy ?? ''}${o.context ?? ''}` }).replace('Version="2.0"', `Version="2.0"${o.attrs ?? ''}`);
  if (o.issueInstant) xml = xml.replace(/IssueInstant="[^"]+"/, `IssueInstant="${o.issueInstant.toISOString()}"`);
  return { id, xml };
}
const passive = ' IsPassive="true"';
const policy = (format?: string, more = '') => `<samlp:NameIDPolicy${format ? ` Format="${format}"` : ''}${more}/>`;
const context = (comparison: string | null, ...refs: string[]) =>
  `<samlp:RequestedAuthnContext${comparison ? ` Comparison="${comparison}"` : ''}>${refs.map((r) => `<saml:AuthnContextClassRef>${r}</saml:AuthnContextClassRef>`).join('')}</samlp:RequestedAuthnContext>`;

/** What an auto-post page sends to the SP, read the way an SP reads it. */
function answer(page: Page) {
  assert.equal(page.status, 200, page.text.slice(0, 400));
  const form = page.form(/^https:/);
  const xml = responseXml(page);
  const doc = parseXml(xml)!;
  const root = doc.documentElement!;
  const codes = doc.getElementsByTagNameNS(PROTOCOL_NS, 'StatusCode');
  const classRef = doc.getElementsByTagNameNS(ASSERTION_NS, 'AuthnContextClassRef').item(0);
  return {
    xml,
    action: form.action,
    relayState: form.fields.RelayState,
    inResponseTo: root.getAttribute('InResponseTo'),
    destination: root.getAttribute('Destination'),
    top: codes.item(0)?.getAttribute('Value'),
    second: codes.item(1)?.getAttribute('Value') ?? null,
    assertions: doc.getElementsByTagNameNS(ASSERTION_NS, 'Assertion').length + doc.getElementsByTagNameNS(ASSERTION_NS, 'EncryptedAssertion').length,
    classRef: classRef?.textContent ?? null,
  };
}

/**
 * The answers SAML core requires where a request cannot be honoured as asked: NoPassive (§3.4.1),
 * InvalidNameIDPolicy (§3.4.1.1) and NoAuthnContext (§3.3.2.2.1) as signed error responses to the
 * SP, and replayed requests refused. The whole appliance in-process, samlify as the SP's library,
 * a cookie-keeping fetch as the browser.
 */
describe('SAML requests answered with an error status, and replays', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let wiki: TestSp;
  const ids: Record<string, string> = {};

  const signIn = async (b: Browser, login: string) => {
    const page = await b.submit(await b.get('/'), { login, password: PASSWORD }, '/login');
    assert.ok(b.cookies.has('gh_session'), page.text.slice(0, 200));
  };
  const get = (b: Browser, xml: string, relayState?: string) =>
    b.get(`/saml2/wiki?SAMLRequest=${forRedirect(xml)}${relayState ? `&RelayState=${encodeURIComponent(relayState)}` : ''}`);
  const lastSsoEvent = async (username: string) => (await events(gh, 'sso_auth')).find((e) => e.initiated_by.username === username);

  /** Asserts a signed error response with the two status codes, to the ACS, for `id`, and no assertion. */
  const isError = (page: Page, top: string, second: string, id: string, relayState?: string) => {
    const a = answer(page);
    assert.equal(a.action, SP_ACS);
    assert.equal(a.destination, SP_ACS);
    assert.equal(a.top, STATUS + top);
    assert.equal(a.second, STATUS + second);
    assert.equal(a.inResponseTo, id);
    assert.equal(a.assertions, 0, 'an error response carries no assertion');
    assert.equal(a.relayState, relayState);
    const [verified] = SamlLib.verifySignature(a.xml, { metadata: wiki.idp.entityMeta, signatureAlgorithm: RSA_SHA256 });
    assert.equal(verified, true, 'the error response is signed with the key of the IdP metadata');
    assert.match(a.xml, /<ds:SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"\/>/);
    assert.match(a.xml, /<ds:DigestMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmlenc#sha256"\/>/);
    assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/sp\.example\.test/);
    return a;
  };

  before(async () => {
    gh = await startAppliance();
    // signResponse off: the error response must be signed all the same (it has no assertion to sign).
    const app = await gh.api('POST', '/api/applications', {
      name: 'wiki',
      displayLabel: 'Team Wiki',
      config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS], signAssertion: true, signResponse: false },
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    ids.wiki = app.body._id;
    const other = await gh.api('POST', '/api/applications', { name: 'other', config: { spEntityId: 'https://other.example.test', acsUrls: ['https://other.example.test/acs'] } });
    ids.other = other.body._id;
    for (const u of ['pat', 'quinn', 'rex', 'sam', 'uma', 'val', 'wes']) {
      const r = await gh.api('POST', '/api/systemusers', { username: u, email: `${u}@example.com`, password: PASSWORD });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[u] = r.body._id;
    }
    for (const u of ['pat', 'rex', 'sam', 'uma', 'val', 'wes']) {
      assert.equal((await gh.api('POST', `/api/v2/users/${ids[u]}/associations`, { op: 'add', type: 'application', id: ids.wiki })).status, 204);
    }
    await gh.api('POST', `/api/v2/users/${ids.pat}/associations`, { op: 'add', type: 'application', id: ids.other });
    wiki = await testSp(gh, 'wiki');
  });
  after(async () => gh?.stop());

  describe('IsPassive (SAML core §3.4.1)', () => {
    it('answers Responder/NoPassive to the ACS, with the RelayState, when the browser has no session, and records why', async () => {
      const b = new Browser(gh.httpUrl);
      const r = request({ attrs: passive });
      const page = await get(b, r.xml, 'passive-rs');
      isError(page, 'Responder', 'NoPassive', r.id, 'passive-rs');
      assert.doesNotMatch(page.text, /Sign in to continue/);
      const e = (await events(gh, 'sso_auth')).find((x) => /NoPassive/.test(x.error_message ?? '') && x.initiated_by.username === '');
      assert.ok(e, 'no sso_auth event for the NoPassive answer');
      assert.equal(e.success, false);
      assert.match(e.error_message, /no signed-in session/);
      assert.equal(e.application.name, 'wiki');
      assert.equal(e.idp_initiated, false);
    });

    it('answers NoPassive over HTTP-POST as well', async () => {
      const b = new Browser(gh.httpUrl);
      const r = request({ attrs: passive });
      const first = await b.request('POST', '/saml2/wiki', { SAMLRequest: forPost(r.xml), RelayState: 'post-rs' });
      assert.equal(first.status, 303);
      isError(await b.get(first.location!), 'Responder', 'NoPassive', r.id, 'post-rs');
    });

    it('answers a passive request with an assertion when the session can be used', async () => {
      const b = new Browser(gh.httpUrl);
      await signIn(b, 'pat');
      const r = request({ attrs: passive });
      const a = answer(await get(b, r.xml, 'rs'));
      assert.equal(a.top, `${STATUS}Success`);
      assert.equal(a.inResponseTo, r.id);
      assert.equal(a.assertions, 1);
      assert.equal(a.relayState, 'rs');
    });

    it('answers NoPassive instead of showing the TOTP step a session still owes', async () => {
      const b = new Browser(gh.httpUrl);
      await signIn(b, 'rex');
      assert.ok((await gh.api('POST', `/api/systemusers/${ids.rex}/totp`, {})).body.secret);
      const r = request({ attrs: passive });
      const page = await get(b, r.xml);
      isError(page, 'Responder', 'NoPassive', r.id);
      assert.doesNotMatch(page.text, /Two-step verification/);
      const e = await lastSsoEvent('rex');
      assert.equal(e.success, false);
      assert.match(e.error_message, /MFA required \(passive request/);
    });

    it('answers Responder/RequestDenied to a passive request from a signed-in user who is not assigned', async () => {
      const b = new Browser(gh.httpUrl);
      await signIn(b, 'quinn');
      const r = request({ attrs: passive });
      isError(await get(b, r.xml), 'Responder', 'RequestDenied', r.id);
      assert.match((await lastSsoEvent('quinn')).error_message, /not bound to application wiki/);
    });

    it('answers NoPassive when ForceAuthn and IsPassive are both set, even with a session', async () => {
      const b = new Browser(gh.httpUrl);
      await signIn(b, 'pat');
      const r = request({ attrs: `${passive} ForceAuthn="true"` });
      isError(await get(b, r.xml), 'Responder', 'NoPassive', r.id);
      assert.match((await lastSsoEvent('pat')).error_message, /ForceAuthn and IsPassive/);
    });
  });

  describe('NameIDPolicy (SAML core §3.4.1.1)', () => {
    for (const format of ['persistent', 'encrypted'] as const) {
      it(`answers Requester/InvalidNameIDPolicy to a request for ${format} identifiers, without a login page`, async () => {
        const b = new Browser(gh.httpUrl);
        const r = request({ policy: policy(NAMEID[format], ' AllowCreate="true"') });
        const page = await get(b, r.xml, 'nid');
        isError(page, 'Requester', 'InvalidNameIDPolicy', r.id, 'nid');
        assert.equal(page.forms().some((f) => f.action === '/saml2/wiki/login'), false);
        const e = (await events(gh, 'sso_auth')).find((x) => (x.error_message ?? '').includes(NAMEID[format]));
        assert.ok(e, 'no sso_auth event names the refused format');
        assert.match(e.error_message, /^InvalidNameIDPolicy: /);
      });
    }

    it('gives a one-time transient identifier to an SP that asks for one (SimpleSAMLphp does by default), a new one each sign-in', async () => {
      const b = new Browser(gh.httpUrl);
      const seen = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const r = request({ policy: policy(NAMEID.transient, ' AllowCreate="true"') });
        const page = await get(b, r.xml);
        const a = answer(i === 0 ? await b.submit(page, { login: 'pat', password: PASSWORD }) : page);
        assert.equal(a.top, `${STATUS}Success`);
        const m = new RegExp(`<saml:NameID Format="${NAMEID.transient}">(_[0-9a-f]{40})</saml:NameID>`).exec(a.xml);
        assert.ok(m, a.xml.slice(0, 600));
        assert.doesNotMatch(a.xml, /<saml:NameID[^>]*>pat@example\.com</);
        seen.add(m[1]!);
      }
      assert.equal(seen.size, 2, 'a new identifier each time');
    });

    it('answers InvalidNameIDPolicy over HTTP-POST, directly', async () => {
      const b = new Browser(gh.httpUrl);
      const r = request({ policy: policy(NAMEID.persistent) });
      isError(await b.request('POST', '/saml2/wiki', { SAMLRequest: forPost(r.xml) }), 'Requester', 'InvalidNameIDPolicy', r.id);
    });

    it('answers InvalidNameIDPolicy for an SPNameQualifier other than the SP itself', async () => {
      const b = new Browser(gh.httpUrl);
      const r = request({ policy: policy(NAMEID.email, ' SPNameQualifier="https://affiliation.example.test"') });
      isError(await get(b, r.xml), 'Requester', 'InvalidNameIDPolicy', r.id);
    });

    const accepted: [string, string][] = [
      ['the configured format with AllowCreate="true"', policy(NAMEID.email, ' AllowCreate="true"')],
      ['the configured format with AllowCreate="false"', policy(NAMEID.email, ' AllowCreate="false"')],
      ['the unspecified format', policy(NAMEID.unspecified, ' AllowCreate="true"')],
      ['a policy without Format', policy(undefined, ' AllowCreate="true"')],
      ['SPNameQualifier naming the SP itself', policy(NAMEID.email, ` SPNameQualifier="${SP_ENTITY}"`)],
    ];
    for (const [what, p] of accepted) {
      it(`signs in as usual for ${what}`, async () => {
        const b = new Browser(gh.httpUrl);
        const r = request({ policy: p });
        const login = await get(b, r.xml);
        assert.equal(login.status, 200, login.text.slice(0, 300));
        const a = answer(await b.submit(login, { login: 'pat', password: PASSWORD }));
        assert.equal(a.top, `${STATUS}Success`);
        assert.equal(a.inResponseTo, r.id);
        assert.match(a.xml, new RegExp(`<saml:NameID Format="${NAMEID.email}">pat@example.com</saml:NameID>`));
      });
    }
  });

  describe('RequestedAuthnContext (SAML core §3.3.2.2.1) and what the assertion says', () => {
    it('says Password for a password sign-in under a plain-http public URL, and REFEDS MFA after a TOTP code', async () => {
      const b = new Browser(gh.httpUrl);
      const a = answer(await b.submit(await get(b, request().xml), { login: 'pat', password: PASSWORD }));
      assert.equal(a.classRef, `${AC}Password`);
      const t = await gh.api('POST', `/api/systemusers/${ids.sam}/totp`, {});
      const codes = totpCodes(t.body.secret);
      const b2 = new Browser(gh.httpUrl);
      const totp = await b2.submit(await get(b2, request().xml), { login: 'sam', password: PASSWORD });
      assert.match(totp.text, /Two-step verification/);
      assert.equal(answer(await b2.submit(totp, { otp: codes() })).classRef, REFEDS_MFA);
      // and the session's later assertions say the same
      assert.equal(answer(await get(b2, request().xml)).classRef, REFEDS_MFA);
    });

    it('answers Requester/NoAuthnContext at once for a context no sign-in here gives, without a login page', async () => {
      for (const ctx of [context(null, `${AC}Kerberos`), context('exact', `${AC}PasswordProtectedTransport`), context('minimum', `${AC}Smartcard`)]) {
        const b = new Browser(gh.httpUrl);
        const r = request({ context: ctx });
        isError(await get(b, r.xml, 'ctx'), 'Requester', 'NoAuthnContext', r.id, 'ctx');
      }
      const e = (await events(gh, 'sso_auth')).find((x) => (x.error_message ?? '').includes('Kerberos'));
      assert.match(e?.error_message ?? '', /^NoAuthnContext: /);
    });

    it('gives an assertion of a class it may claim for minimum and exact requests it can meet', async () => {
      const b = new Browser(gh.httpUrl);
      const min = answer(await b.submit(await get(b, request({ context: context('minimum', `${AC}Password`) }).xml), { login: 'pat', password: PASSWORD }));
      assert.equal(min.classRef, `${AC}Password`);
      const exact = answer(await get(b, request({ context: context('exact', REFEDS_MFA, `${AC}Password`) }).xml));
      assert.equal(exact.classRef, `${AC}Password`, 'the first requested class the sign-in may claim');
    });

    it('answers NoAuthnContext when the SP accepts multi-factor only and the user has no TOTP, at sign-in and from a session', async () => {
      const b = new Browser(gh.httpUrl);
      const r = request({ context: context('exact', REFEDS_MFA) });
      isError(await b.submit(await get(b, r.xml), { login: 'uma', password: PASSWORD }), 'Requester', 'NoAuthnContext', r.id);
      // One attempt, one event: the sign-in's own, with its reason (the user has no TOTP to give).
      const mine = (await events(gh, 'sso_auth')).filter((x) => x.initiated_by.username === 'uma');
      assert.equal(mine.length, 1, JSON.stringify(mine.map((x) => x.error_message)));
      assert.equal(mine[0].success, false);
      assert.match(mine[0].error_message, /MFA enrol/);
      const s = new Browser(gh.httpUrl);
      await signIn(s, 'uma');
      const r2 = request({ context: context('minimum', REFEDS_MFA) });
      isError(await get(s, r2.xml), 'Requester', 'NoAuthnContext', r2.id);
      assert.match((await lastSsoEvent('uma')).error_message, /multi-factor authentication and the user has no TOTP/);
    });

    it('asks a session without a second factor for a TOTP code when the SP accepts multi-factor only (step-up), then asserts REFEDS MFA', async () => {
      // val is excluded from MFA, so the portal sign-in took the password only.
      const t = await gh.api('POST', `/api/systemusers/${ids.val}/totp`, {});
      assert.equal((await gh.api('PUT', `/api/systemusers/${ids.val}`, { mfa: { exclusion: true, exclusionUntil: null } })).status, 200);
      const b = new Browser(gh.httpUrl);
      await signIn(b, 'val');
      assert.equal(answer(await get(b, request().xml)).classRef, `${AC}Password`, 'no code was asked at sign-in');
      const r = request({ context: context('exact', REFEDS_MFA) });
      const totp = await get(b, r.xml);
      assert.match(totp.text, /Two-step verification/);
      const a = answer(await b.submit(totp, { otp: totpCodes(t.body.secret)() }));
      assert.equal(a.classRef, REFEDS_MFA);
      assert.equal(a.inResponseTo, r.id);
      // The SP then forces a fresh sign-in (ForceAuthn), made with the password alone: the assertion
      // describes that sign-in, not the earlier second factor (SAML core §3.4.1).
      const forced = await get(b, request({ attrs: ' ForceAuthn="true"' }).xml);
      assert.match(forced.text, /Sign in to continue/);
      const f = answer(await b.submit(forced, { login: 'val', password: PASSWORD }));
      assert.equal(f.assertions, 1);
      assert.equal(f.classRef, `${AC}Password`);
    });
  });

  describe('replayed requests', () => {
    const refusedAsReplay = (page: Page) => {
      assert.equal(page.status, 400, page.text.slice(0, 300));
      assert.match(page.text, /already used/);
      assert.equal(page.forms().some((f) => f.action.startsWith('http')), false, 'no form to the SP');
      assert.doesNotMatch(page.body, /SAMLResponse/);
    };

    it('refuses the same request ID from the same SP a second time, with a page, and records it', async () => {
      const r = request();
      const b1 = new Browser(gh.httpUrl);
      const first = await get(b1, r.xml);
      assert.ok(first.form('/saml2/wiki/login'));
      const b2 = new Browser(gh.httpUrl);
      await signIn(b2, 'pat');
      refusedAsReplay(await get(b2, r.xml));
      const e = await lastSsoEvent('pat');
      assert.equal(e.success, false);
      assert.match(e.error_message, /^replayed SAML request: its ID was already received/);
      // the first browser can still finish its sign-in
      assert.equal(answer(await b1.submit(first, { login: 'pat', password: PASSWORD })).inResponseTo, r.id);
    });

    it('answers a request once: a replayed continue link or a passive replay gets no second assertion', async () => {
      const b = new Browser(gh.httpUrl);
      const p = postRequest(wiki, 'once');
      const first = await b.request('POST', p.action, p.fields);
      const cont = first.location!;
      const a = answer(await b.submit(await b.get(cont), { login: 'pat', password: PASSWORD }));
      assert.equal(a.inResponseTo, p.id);
      refusedAsReplay(await b.get(cont));
      // the same POST again (a second tab, a back button): refused at once
      refusedAsReplay(await b.request('POST', p.action, p.fields));
      // an error answer counts as the answer too
      const r = request({ attrs: passive });
      const fresh = new Browser(gh.httpUrl);
      const post = await fresh.request('POST', '/saml2/wiki', { SAMLRequest: forPost(r.xml) });
      isError(await fresh.get(post.location!), 'Responder', 'NoPassive', r.id);
      refusedAsReplay(await fresh.get(post.location!));
    });

    it('lets the user reload the login page of an HTTP-Redirect request until the request is answered', async () => {
      const b = new Browser(gh.httpUrl);
      const r = request();
      const first = await b.request('GET', `/saml2/wiki?SAMLRequest=${forRedirect(r.xml)}`);
      assert.equal(first.status, 303, 'the request URL itself is not the page to reload');
      for (let i = 0; i < 2; i++) assert.match((await b.get(first.location!)).text, /Sign in to continue/);
      const a = answer(await b.submit(await b.get(first.location!), { login: 'pat', password: PASSWORD }));
      assert.equal(a.inResponseTo, r.id);
      refusedAsReplay(await b.get(first.location!));
    });

    it('takes the same ID from another SP', async () => {
      const id = `_${randomBytes(10).toString('hex')}`;
      const b = new Browser(gh.httpUrl);
      await signIn(b, 'pat');
      assert.equal(answer(await get(b, request({ id }).xml)).inResponseTo, id);
      const xml = authnRequestXml({ id, issuer: 'https://other.example.test', acs: 'https://other.example.test/acs' });
      const other = await b.get(`/saml2/other?SAMLRequest=${forRedirect(xml)}`);
      assert.equal(answer(other).inResponseTo, id);
    });

    it('refuses a request issued too long ago, or too far in the future (its ID could no longer be remembered)', async () => {
      const b = new Browser(gh.httpUrl);
      const old = await get(b, request({ issueInstant: new Date(Date.now() - 30 * 60_000) }).xml);
      assert.equal(old.status, 400);
      assert.match(old.text, /too old/);
      const future = await get(b, request({ issueInstant: new Date(Date.now() + 30 * 60_000) }).xml);
      assert.equal(future.status, 400);
      assert.match(future.text, /in the future/);
      assert.equal(future.forms().some((f) => f.action.startsWith('http')), false);
      // Both in Directory Insights, with the reason (an admin's first stop when an SP fails).
      const refused = (await events(gh, 'sso_auth')).filter((e) => /^refused SAML request \(stale\)/.test(e.error_message ?? ''));
      assert.ok(refused.some((e) => /too old/.test(e.error_message)), JSON.stringify(refused));
      assert.ok(refused.some((e) => /in the future/.test(e.error_message)));
      assert.ok(refused.every((e) => e.success === false && e.resource?.name === 'wiki'));
    });

    // Last here: it spends this address's budget of events that prove nothing.
    it('refuses an answered continue link however often it is opened, and records the refusals within a budget per address', async () => {
      const r = request({ attrs: passive });
      const b = new Browser(gh.httpUrl);
      const post = await b.request('POST', '/saml2/wiki', { SAMLRequest: forPost(r.xml) });
      isError(await b.get(post.location!), 'Responder', 'NoPassive', r.id);
      const before = (await events(gh, 'sso_auth')).filter((e) => /already answered/.test(e.error_message ?? '')).length;
      const t0 = Date.now();
      const N = 600;
      for (let i = 0; i < N; i += 20) {
        const pages = await Promise.all(Array.from({ length: 20 }, () => new Browser(gh.httpUrl).get(post.location!)));
        for (const page of pages) refusedAsReplay(page);
      }
      const seconds = (Date.now() - t0) / 1000;
      const recorded = (await events(gh, 'sso_auth')).filter((e) => /already answered/.test(e.error_message ?? '')).length - before;
      // 200 at once, then 20/s (recordUnauthenticated), where each replay wrote a row.
      assert.ok(recorded >= 50 && recorded <= 200 + 20 * (seconds + 1), `${recorded} events for ${N} replays in ${seconds.toFixed(1)} s`);
    });
  });
});

describe('SAML replay guard across instances sharing a store', function () {
  this.timeout(60_000);
  let dir: string;
  let a: RunningAppliance | null = null;
  let b: RunningAppliance | null = null;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-saml-replay-'));
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses on the second instance, and after a restart, a request the first one took', async () => {
    a = await startAppliance({}, { dataDir: dir, keepData: true });
    const app = await a.api('POST', '/api/applications', { name: 'wiki', config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS] } });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    // The same data dir (one SQLite file, as PostgreSQL would be one database): another instance.
    b = await startAppliance({}, { dataDir: dir, keepData: true });
    const xml = authnRequestXml({ acs: SP_ACS });
    const path = `/saml2/wiki?SAMLRequest=${forRedirect(xml)}`;
    assert.equal((await new Browser(a.httpUrl).get(path)).status, 200);
    const onB = await new Browser(b.httpUrl).get(path);
    assert.equal(onB.status, 400);
    assert.match(onB.text, /already used/);
    await a.stop();
    a = await startAppliance({}, { dataDir: dir, keepData: true });
    const afterRestart = await new Browser(a.httpUrl).get(path);
    assert.equal(afterRestart.status, 400);
    assert.match(afterRestart.text, /already used/);
  });
});

describe('SAML authentication context under an https public URL', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  before(async () => {
    gh = await startAppliance({ publicUrl: 'https://idp.example.test' });
    const app = await gh.api('POST', '/api/applications', { name: 'wiki', config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS] } });
    const u = await gh.api('POST', '/api/systemusers', { username: 'tess', email: 'tess@example.com', password: PASSWORD });
    await gh.api('POST', `/api/v2/users/${u.body._id}/associations`, { op: 'add', type: 'application', id: app.body._id });
  });
  after(async () => gh?.stop());

  it('says PasswordProtectedTransport for a password sign-in, and meets an exact request for it', async () => {
    const b = new Browser(gh.httpUrl);
    const r = request({ context: context('exact', `${AC}PasswordProtectedTransport`) });
    const a = answer(await b.submit(await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(r.xml)}`), { login: 'tess', password: PASSWORD }));
    assert.equal(a.top, `${STATUS}Success`);
    assert.equal(a.classRef, `${AC}PasswordProtectedTransport`);
  });
});

describe('SAML sign-on in progress: reloading its continue link does not extend it', function () {
  this.timeout(60_000);
  it('ends a pending sign-on sso.loginTimeoutSeconds after the request arrived, however often its link is opened', async () => {
    const clock = createFakeClock(Date.now());
    const gh = await startAppliance({ sso: { loginTimeoutSeconds: 60 } }, { clock });
    try {
      const app = await gh.api('POST', '/api/applications', { name: 'wiki', config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS] } });
      const user = await gh.api('POST', '/api/systemusers', { username: 'lou', email: 'lou@example.com', password: PASSWORD });
      await gh.api('POST', `/api/v2/users/${user.body._id}/associations`, { op: 'add', type: 'application', id: app.body._id });
      const b = new Browser(gh.httpUrl);
      const xml = authnRequestXml({ acs: SP_ACS }).replace(/IssueInstant="[^"]+"/, `IssueInstant="${new Date(clock.ms()).toISOString()}"`);
      const post = await b.request('POST', '/saml2/wiki', { SAMLRequest: forPost(xml) });
      assert.equal(post.status, 303);
      clock.advanceSeconds(40);
      const login = await b.get(post.location!);
      assert.match(login.text, /Sign in to continue/);
      clock.advanceSeconds(30);
      // 70 s after the request: the form fetched at 40 s carries the request's end, not a new one.
      const late = await b.submit(login, { login: 'lou', password: PASSWORD });
      assert.match(late.text, /expired/i);
      assert.doesNotMatch(late.body, /SAMLResponse/);
      assert.doesNotMatch(late.text, /already used/);
    } finally {
      await gh.stop();
    }
  });
});

describe('SAML request lifetime and clock skew from the configuration', function () {
  this.timeout(60_000);
  it('refuses a request older than sso.requestLifetimeSeconds + sso.clockSkewSeconds, and accepts one within', async () => {
    const gh = await startAppliance({ sso: { requestLifetimeSeconds: 60, clockSkewSeconds: 0 } });
    try {
      await gh.api('POST', '/api/applications', { name: 'wiki', config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS] } });
      const at = (msAgo: number) => authnRequestXml({ acs: SP_ACS }).replace(/IssueInstant="[^"]+"/, `IssueInstant="${new Date(Date.now() - msAgo).toISOString()}"`);
      const b = new Browser(gh.httpUrl);
      const old = await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(at(90_000))}`);
      assert.equal(old.status, 400);
      assert.match(old.text, /too old/);
      const future = await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(at(-10_000))}`);
      assert.match(future.text, /in the future/, 'no skew allowed');
      const recent = await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(at(30_000))}`);
      assert.match(recent.text, /Sign in to continue/);
    } finally {
      await gh.stop();
    }
  });
});
