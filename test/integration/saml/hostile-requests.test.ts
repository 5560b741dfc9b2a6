import assert from 'node:assert/strict';
import { createSign, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { IdentityProvider } from 'samlify';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { createSelfSignedCertificate } from '../../../src/util/certificates.js';
import { authnRequestXml, Browser, events, forPost, forRedirect, postRequest, redirectRequest, SP_ACS, SP_ENTITY, testSp, type Page, type TestSp } from './support.js';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

/**
 * Hostile and wrong SAML requests: each is refused with a page (never a redirect, never a form to
 * the SP) and changes nothing: no audit event, no session, no lockout count.
 */
describe('SAML requests that are refused', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let sp: TestSp;
  let signedSp: TestSp;
  const appIds: Record<string, string> = {};

  before(async () => {
    gh = await startAppliance();
    const a = await gh.api('POST', '/api/applications', { name: 'wiki', config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS] } });
    appIds.wiki = a.body._id;
    sp = await testSp(gh, 'wiki');
    const s = await gh.api('POST', '/api/applications', { name: 'signed', config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS] } });
    appIds.signed = s.body._id;
    signedSp = await testSp(gh, 'signed', { signRequests: true });
    const put = await gh.api('PUT', `/api/applications/${appIds.signed}`, { config: { spCertificate: signedSp.certPem, requireSignedRequests: true } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.config.requireSignedRequests, true);
    // The IdP metadata now says WantAuthnRequestsSigned="true"; the SP reads it again.
    const metadata = await (await fetch(`${gh.httpUrl}/saml2/signed/metadata`)).text();
    assert.match(metadata, /WantAuthnRequestsSigned="true"/);
    signedSp.idp = IdentityProvider({ metadata });
    const u = await gh.api('POST', '/api/systemusers', { username: 'alice', email: 'alice@example.com', password: 'Sunny-Meadow-41' });
    for (const id of Object.values(appIds)) await gh.api('POST', `/api/v2/users/${u.body._id}/associations`, { op: 'add', type: 'application', id });
  });
  after(async () => gh?.stop());

  /** Asserts a refusal page: status, no form posting anywhere but here, no redirect, no session. */
  const refused = (page: Page, b: Browser, pattern?: RegExp, status = 400) => {
    assert.equal(page.status, status, page.text.slice(0, 300));
    assert.equal(page.location, null, 'a refusal never redirects');
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(page.forms().some((f) => f.action.startsWith('http')), false, 'no form to the SP');
    assert.doesNotMatch(page.body, /SAMLResponse/);
    if (pattern) assert.match(page.text, pattern);
    assert.equal(b.cookies.has('gh_session'), false, 'no session was started');
  };

  const ssoEventsBefore = async () => (await events(gh, 'sso_auth')).length;

  it('accepts the well-formed request these variants start from', async () => {
    const b = new Browser(gh.httpUrl);
    const page = await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS }))}`);
    assert.equal(page.status, 200);
    assert.ok(page.form('/saml2/wiki/login'));
  });

  it('refuses an ACS URL that is not registered (exact match only), over both bindings', async () => {
    const before = await ssoEventsBefore();
    for (const acs of ['https://evil.example/acs', `${SP_ACS}/`, `${SP_ACS}?x=1`, SP_ACS.toUpperCase(), 'https://sp.example.test/saml/acs/../acs']) {
      const b = new Browser(gh.httpUrl);
      refused(await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs }))}`), b, /not registered/);
      refused(await b.request('POST', '/saml2/wiki', { SAMLRequest: forPost(authnRequestXml({ acs })) }), b, /not registered/);
    }
    assert.equal(await ssoEventsBefore(), before);
  });

  it('refuses a request from an issuer that is not the app\'s SP', async () => {
    const b = new Browser(gh.httpUrl);
    refused(await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS, issuer: 'https://other.example' }))}`), b, /not registered/);
  });

  it('refuses a DOCTYPE, with or without entities', async () => {
    const b = new Browser(gh.httpUrl);
    const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>';
    refused(await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS, prolog: laughs }))}`), b, /document type/);
    refused(await b.request('POST', '/saml2/wiki', { SAMLRequest: forPost(authnRequestXml({ acs: SP_ACS, prolog: '<!DOCTYPE x SYSTEM "file:///etc/passwd">' })) }), b, /document type/);
  });

  it('refuses an oversized request before decoding it, and a deflate bomb while inflating it', async () => {
    const b = new Browser(gh.httpUrl);
    refused(await b.request('POST', '/saml2/wiki', { SAMLRequest: 'A'.repeat(20_000) }), b, /too large/);
    // 10 MB of spaces deflate to ~10 kB: under the encoded cap, far over the inflated one.
    const bomb = deflateRawSync(Buffer.from(authnRequestXml({ acs: SP_ACS, extra: ' '.repeat(10_000_000) }))).toString('base64');
    assert.ok(bomb.length < 16_384, `bomb is ${bomb.length} bytes`);
    const before = process.memoryUsage().rss;
    refused(await b.get(`/saml2/wiki?SAMLRequest=${encodeURIComponent(bomb)}`), b, /too large once inflated/);
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
  });

  it('refuses a request that is not valid against the SAML schema', async () => {
    const b = new Browser(gh.httpUrl);
    refused(await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS }).replace(' Version="2.0"', ''))}`), b, /schema/);
    refused(await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS, extra: '<evil>1</evil>' }))}`), b, /schema/);
  });

  it('refuses a RelayState longer than 80 bytes, and repeated parameters', async () => {
    const b = new Browser(gh.httpUrl);
    refused(await b.get(`${redirectRequest(sp, 'x'.repeat(81)).path}`), b, /RelayState/);
    refused(await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS }))}&SAMLRequest=x`), b, /repeats/);
  });

  it('refuses a request without SAMLRequest, or not base64, or not DEFLATE', async () => {
    const b = new Browser(gh.httpUrl);
    refused(await b.get('/saml2/wiki?RelayState=x'), b, /no SAML request/);
    refused(await b.get('/saml2/wiki?SAMLRequest=%25%25%25'), b, /base64/);
    refused(await b.get(`/saml2/wiki?SAMLRequest=${encodeURIComponent(Buffer.from('not deflated').toString('base64'))}`), b);
  });

  describe('an app that requires signed requests', () => {
    it('accepts requests signed by the registered SP key, over both bindings', async () => {
      const b = new Browser(gh.httpUrl);
      const r = redirectRequest(signedSp, 'rs');
      assert.match(r.path, /Signature=/);
      const page = await b.get(r.path);
      assert.equal(page.status, 200, page.text.slice(0, 300));
      assert.ok(page.form('/saml2/signed/login'));
      const p = postRequest(signedSp);
      assert.match(Buffer.from(p.fields.SAMLRequest!, 'base64').toString(), /<ds:Signature/);
      const first = await b.request('POST', p.action, p.fields);
      assert.equal(first.status, 303, first.text.slice(0, 300));
    });

    it('refuses unsigned requests', async () => {
      const b = new Browser(gh.httpUrl);
      refused(await b.get(redirectRequest(sp).path.replace('/saml2/wiki', '/saml2/signed')), b, /signed requests only/);
      refused(await b.request('POST', '/saml2/signed', { SAMLRequest: forPost(authnRequestXml({ acs: SP_ACS })) }), b, /signed requests only/);
    });

    it('refuses a request signed with another key (forged), and one whose signature does not match its content', async () => {
      const other = await createSelfSignedCertificate({ commonName: 'mallory', days: 1 });
      const xml = authnRequestXml({ acs: SP_ACS });
      const octets = `SAMLRequest=${forRedirect(xml)}&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
      const sig = createSign('RSA-SHA256').update(octets).sign(other.keyPem, 'base64');
      const b = new Browser(gh.httpUrl);
      refused(await b.get(`/saml2/signed?${octets}&Signature=${encodeURIComponent(sig)}`), b, /does not verify/);
      // A genuine signature with the request swapped for another one.
      const genuine = new URL(`http://x${redirectRequest(signedSp).path}`).searchParams;
      const swapped = `SAMLRequest=${forRedirect(xml)}&SigAlg=${encodeURIComponent(genuine.get('SigAlg')!)}&Signature=${encodeURIComponent(genuine.get('Signature')!)}`;
      refused(await b.get(`/saml2/signed?${swapped}`), b, /does not verify/);
      // A forged request dated an hour ago is refused for its signature, not as stale: a stale
      // refusal is audited, and a forger must not be able to write to the trail.
      const old = authnRequestXml({ acs: SP_ACS }).replace(/IssueInstant="[^"]+"/, `IssueInstant="${new Date(Date.now() - 3_600_000).toISOString()}"`);
      const oldOctets = `SAMLRequest=${forRedirect(old)}&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
      refused(await b.get(`/saml2/signed?${oldOctets}&Signature=${encodeURIComponent(createSign('RSA-SHA256').update(oldOctets).sign(other.keyPem, 'base64'))}`), b, /does not verify/);
    });

    it('refuses a request signed by the registered SP without a Destination (bindings §3.4.5.2), and a SAML version other than 2.0', async () => {
      const signedBy = (xml: string) => {
        const octets = `SAMLRequest=${forRedirect(xml)}&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
        return `/saml2/signed?${octets}&Signature=${encodeURIComponent(createSign('RSA-SHA256').update(octets).sign(signedSp.keyPem, 'base64'))}`;
      };
      const destination = `${gh.httpUrl.replace('127.0.0.1', 'localhost')}/saml2/signed`;
      const b = new Browser(gh.httpUrl);
      // The control: the same request, signed the same way, with its Destination.
      const good = await b.get(signedBy(authnRequestXml({ acs: SP_ACS, destination })));
      assert.equal(good.status, 200, good.text.slice(0, 300));
      refused(await new Browser(gh.httpUrl).get(signedBy(authnRequestXml({ acs: SP_ACS }))), new Browser(gh.httpUrl), /must name its Destination/);
      const v11 = authnRequestXml({ acs: SP_ACS, destination }).replace('Version="2.0"', 'Version="1.1"');
      const page = await new Browser(gh.httpUrl).get(signedBy(v11));
      assert.equal(page.status, 400);
      assert.match(page.text, /not SAML 2\.0/);
    });

    it('refuses an RSA-SHA1 signature algorithm', async () => {
      const xml = authnRequestXml({ acs: SP_ACS });
      const octets = `SAMLRequest=${forRedirect(xml)}&SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}`;
      const b = new Browser(gh.httpUrl);
      refused(await b.get(`/saml2/signed?${octets}&Signature=${encodeURIComponent(randomBytes(256).toString('base64'))}`), b, /RSA-SHA256/);
    });

    it('refuses a signature that is not a direct child of the root (signature wrapping)', async () => {
      const p = postRequest(signedSp);
      const xml = Buffer.from(p.fields.SAMLRequest!, 'base64').toString();
      const sig = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(xml)![0];
      const moved = xml.replace(sig, '').replace(/(<saml:Issuer>[^<]*<\/saml:Issuer>)/, `$1<samlp:Extensions>${sig}</samlp:Extensions>`);
      const b = new Browser(gh.httpUrl);
      refused(await b.request('POST', '/saml2/signed', { SAMLRequest: forPost(moved) }), b);
    });
  });

  it('changed nothing: no sso_auth event, no failed login counted', async () => {
    assert.equal((await events(gh, 'sso_auth')).length, 0);
    const user = await gh.api('GET', '/api/systemusers?filter=username:$eq:alice');
    assert.equal(user.body.results[0].account_locked, false);
  });
});
