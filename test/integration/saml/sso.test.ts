import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import {
  authnRequestXml,
  Browser,
  events,
  forPost,
  forRedirect,
  postRequest,
  redirectRequest,
  responseXml,
  SP_ACS,
  SP_ENTITY,
  testSp,
  totpCodes,
  type Page,
  type TestSp,
} from './support.js';

const PASSWORD = 'Sunny-Meadow-41';

/**
 * SAML single sign-on against the whole appliance in-process, with samlify as the SP client and a
 * cookie-keeping fetch as the browser.
 */
describe('SAML single sign-on', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let wiki: TestSp;
  let crm: TestSp;
  const ids: Record<string, string> = {};

  const user = async (username: string) => {
    const r = await gh.api('POST', '/api/systemusers', { username, email: `${username}@example.com`, firstname: username[0]!.toUpperCase() + username.slice(1), lastname: 'Test', password: PASSWORD });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids[username] = r.body._id;
    return r.body._id as string;
  };
  const bind = async (userId: string, appId: string) =>
    assert.equal((await gh.api('POST', `/api/v2/users/${userId}/associations`, { op: 'add', type: 'application', id: appId })).status, 204);

  before(async () => {
    gh = await startAppliance();
    const wikiApp = await gh.api('POST', '/api/applications', {
      name: 'wiki',
      displayLabel: 'Team Wiki',
      config: {
        spEntityId: SP_ENTITY,
        acsUrls: [SP_ACS, 'https://sp.example.test/saml/acs2'],
        attributes: [
          { name: 'mail', value: 'email' },
          { name: 'givenName', value: 'firstname' },
        ],
        constantAttributes: [{ name: 'tenant', value: 'acme & <co>' }],
        groupAttribute: 'memberOf',
      },
    });
    assert.equal(wikiApp.status, 201, JSON.stringify(wikiApp.body));
    ids.wiki = wikiApp.body._id;
    const crmApp = await gh.api('POST', '/api/applications', { name: 'crm', config: { spEntityId: 'https://crm.example.test', acsUrls: ['https://crm.example.test/acs'] } });
    ids.crm = crmApp.body._id;
    const group = await gh.api('POST', '/api/v2/usergroups', { name: 'wiki-editors' });
    ids.group = group.body.id;
    assert.equal((await gh.api('POST', `/api/v2/usergroups/${ids.group}/associations`, { op: 'add', type: 'application', id: ids.wiki })).status, 204);
    for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) await user(u);
    assert.equal((await gh.api('POST', `/api/v2/usergroups/${ids.group}/members`, { op: 'add', type: 'user', id: ids.alice })).status, 204);
    await bind(ids.alice!, ids.crm!);
    for (const u of ['carol', 'dave', 'erin']) await bind(ids[u]!, ids.wiki!);
    wiki = await testSp(gh, 'wiki');
    crm = await testSp(gh, 'crm', { entityId: 'https://crm.example.test', acs: ['https://crm.example.test/acs'] });
  });
  after(async () => gh?.stop());

  const parse = async (t: TestSp, page: Page) => {
    assert.equal(page.status, 200, page.text.slice(0, 400));
    const form = page.form(/^https:/);
    return t.sp.parseLoginResponse(t.idp, 'post', { body: form.fields });
  };

  describe('metadata', () => {
    it('publishes the entity ID, both SSO bindings and the signing certificate of the app', async () => {
      const res = await fetch(`${gh.httpUrl}/saml2/wiki/metadata`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /samlmetadata\+xml/);
      const xml = await res.text();
      const app = await gh.api('GET', `/api/applications/${ids.wiki}`);
      assert.match(xml, new RegExp(`entityID="${app.body.ssoUrl}"`));
      assert.match(xml, /SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"/);
      assert.match(xml, /SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"/);
      const body = app.body.config.idpCertificate.replace(/-----[^-]+-----|\s/g, '');
      assert.ok(body.length > 500);
      assert.ok(xml.includes(`<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body}<`));
      assert.ok(!/PRIVATE KEY/.test(xml));
    });

    it('gives each app its own key', async () => {
      const a = await gh.api('GET', `/api/applications/${ids.wiki}`);
      const b = await gh.api('GET', `/api/applications/${ids.crm}`);
      assert.notEqual(a.body.config.idpCertificate, b.body.config.idpCertificate);
    });

    it('answers an unknown app with a 404 page', async () => {
      const res = await fetch(`${gh.httpUrl}/saml2/nope/metadata`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    });
  });

  describe('SP-initiated, HTTP-Redirect', () => {
    it('shows the login page, then posts a signed assertion to the ACS URL with the right audience, recipient and InResponseTo', async () => {
      const b = new Browser(gh.httpUrl);
      const req = redirectRequest(wiki, 'rs-1');
      const login = await b.get(req.path);
      assert.equal(login.status, 200);
      assert.match(login.text, /Sign in to continue to Team Wiki/);
      assert.ok(login.form('/saml2/wiki/login').fields._csrf);
      const post = await b.submit(login, { login: 'alice', password: PASSWORD });
      assert.match(post.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/sp\.example\.test/);
      assert.match(post.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      const form = post.form(/^https:/);
      assert.equal(form.action, SP_ACS);
      assert.equal(form.fields.RelayState, 'rs-1');
      const { extract } = await parse(wiki, post);
      assert.equal(extract.nameID, 'alice@example.com');
      assert.equal(extract.audience, SP_ENTITY);
      assert.equal(extract.response!.inResponseTo, req.id);
      assert.equal(extract.response!.destination, SP_ACS);
      assert.equal(extract.attributes!.mail, 'alice@example.com');
      assert.equal(extract.attributes!.givenName, 'Alice');
      assert.equal(extract.attributes!.tenant, 'acme & <co>');
      assert.equal(extract.attributes!.memberOf, 'wiki-editors');
      const xml = responseXml(post);
      assert.match(xml, /<saml:SubjectConfirmationData NotOnOrAfter="[^"]+" Recipient="https:\/\/sp\.example\.test\/saml\/acs" InResponseTo="/);
      assert.match(xml, /<saml:AuthnStatement AuthnInstant="[^"]+" SessionIndex="[0-9a-f]{32}">/);
      assert.match(xml, /SignatureMethod Algorithm="http:\/\/www\.w3\.org\/2001\/04\/xmldsig-more#rsa-sha256"/);
      assert.doesNotMatch(xml, /rsa-sha1|xmldsig#sha1/);
      const notOnOrAfter = new Date(/<saml:Conditions NotBefore="[^"]+" NotOnOrAfter="([^"]+)"/.exec(xml)![1]!);
      assert.ok(notOnOrAfter.getTime() - Date.now() <= 301_000 && notOnOrAfter.getTime() > Date.now());
    });

    it('does not ask again within the SSO session, for the same app or another one', async () => {
      const b = new Browser(gh.httpUrl);
      await b.submit(await b.get(redirectRequest(wiki).path), { login: 'alice@example.com', password: PASSWORD });
      const again = redirectRequest(wiki);
      const second = await b.get(again.path);
      assert.equal((await parse(wiki, second)).extract.response!.inResponseTo, again.id);
      const other = redirectRequest(crm);
      const third = await b.get(other.path);
      const r = await parse(crm, third);
      assert.equal(r.extract.audience, 'https://crm.example.test');
      assert.equal(r.extract.response!.inResponseTo, other.id);
    });

    it('asserts the subject a request names, and answers RequestDenied for another one (core §3.4.1)', async () => {
      const subject = (email: string) => `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${email}</saml:NameID></saml:Subject>`;
      const mine = new Browser(gh.httpUrl);
      const ok = await mine.submit(await mine.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS, extra: subject('Alice@Example.com') }))}`), { login: 'alice', password: PASSWORD });
      assert.match(responseXml(ok), /<saml:NameID[^>]*>alice@example\.com<\/saml:NameID>/);
      const other = new Browser(gh.httpUrl);
      const refused = await other.submit(await other.get(`/saml2/wiki?SAMLRequest=${forRedirect(authnRequestXml({ acs: SP_ACS, extra: subject('carol@example.com') }))}`), { login: 'alice', password: PASSWORD });
      const xml = responseXml(refused);
      assert.match(xml, /urn:oasis:names:tc:SAML:2\.0:status:RequestDenied/);
      assert.doesNotMatch(xml, /<saml:Assertion/);
      const e = (await events(gh, 'sso_auth')).find((x) => /names another subject/.test(x.error_message ?? ''));
      assert.equal(e?.initiated_by.username, 'alice');
    });

    it('regenerates the session cookie at sign-in', async () => {
      const b = new Browser(gh.httpUrl);
      const login = await b.get(redirectRequest(wiki).path);
      b.cookies.set('gh_session', 'A'.repeat(43));
      await b.submit(login, { login: 'alice', password: PASSWORD });
      const cookie = b.cookies.get('gh_session');
      assert.ok(cookie && cookie !== 'A'.repeat(43));
    });

    it('asks again when the SP sets ForceAuthn', async () => {
      const b = new Browser(gh.httpUrl);
      await b.submit(await b.get(redirectRequest(wiki).path), { login: 'alice', password: PASSWORD });
      const xml = authnRequestXml({ acs: SP_ACS, extra: '' }).replace('Version="2.0"', 'Version="2.0" ForceAuthn="true"');
      const page = await b.get(`/saml2/wiki?SAMLRequest=${forRedirect(xml)}`);
      assert.match(page.text, /Sign in/);
      assert.equal(page.forms().some((f) => f.action.startsWith('https:')), false);
    });
  });

  describe('SP-initiated, HTTP-POST', () => {
    it('continues on a GET of its own and answers the request', async () => {
      const b = new Browser(gh.httpUrl);
      const req = postRequest(wiki, 'post-state');
      const first = await b.request('POST', req.action, req.fields);
      assert.equal(first.status, 303);
      assert.match(first.location!, /\/saml2\/wiki\/continue\?r=/);
      const login = await b.get(first.location!);
      const post = await b.submit(login, { login: 'alice', password: PASSWORD });
      const r = await parse(wiki, post);
      assert.equal(r.extract.response!.inResponseTo, req.id);
      assert.equal(post.form(/^https:/).fields.RelayState, 'post-state');
    });

    it('needs no CSRF token from the SP, but the login form does', async () => {
      const b = new Browser(gh.httpUrl);
      const req = postRequest(wiki);
      const login = await b.get((await b.request('POST', req.action, req.fields)).location!);
      const form = login.form('/saml2/wiki/login');
      const forged = await b.request('POST', '/saml2/wiki/login', { ...form.fields, _csrf: 'forged', login: 'alice', password: PASSWORD });
      assert.equal(forged.status, 403);
      assert.equal(forged.forms().some((f) => f.action.startsWith('https:')), false);
    });
  });

  describe('IdP-initiated', () => {
    it('launches from the portal tile to the first registered ACS URL, without InResponseTo', async () => {
      const b = new Browser(gh.httpUrl);
      const login = await b.get('/');
      await b.submit(login, { login: 'alice', password: PASSWORD }, '/login');
      const home = await b.get('/');
      assert.match(home.body, /href="\/saml2\/wiki\?launch=1"/);
      assert.match(home.body, /href="\/saml2\/crm\?launch=1"/);
      const post = await b.get('/saml2/wiki?launch=1');
      const xml = responseXml(post);
      assert.equal(post.form(/^https:/).action, SP_ACS);
      assert.doesNotMatch(xml, /InResponseTo/);
      const e = (await events(gh, 'sso_auth')).find((x) => x.idp_initiated === true && x.initiated_by.username === 'alice');
      assert.ok(e, 'no IdP-initiated sso_auth event');
      assert.equal(e.success, true);
      assert.deepEqual(e.application, { id: ids.wiki, name: 'wiki', display_label: 'Team Wiki', sso_type: 'saml', sso_url: (await gh.api('GET', `/api/applications/${ids.wiki}`)).body.ssoUrl });
    });
  });

  describe('who gets an assertion', () => {
    it('shows "not assigned" to a user bound to neither the app nor one of its groups, and records why', async () => {
      const b = new Browser(gh.httpUrl);
      const page = await b.submit(await b.get(redirectRequest(wiki).path), { login: 'bob', password: PASSWORD });
      assert.equal(page.status, 403);
      assert.match(page.text, /not assigned to Team Wiki/);
      assert.equal(page.forms().some((f) => f.action.startsWith('https:')), false);
      const e = (await events(gh, 'sso_auth')).find((x) => x.initiated_by.username === 'bob');
      assert.ok(e);
      assert.equal(e.success, false);
      assert.match(e.error_message, /not bound to application wiki/);
      assert.equal(e.application.name, 'wiki');
      assert.equal(e.idp_initiated, false);
      assert.equal(e.service, 'sso');
    });

    it('answers a wrong password with the login page and no assertion', async () => {
      const b = new Browser(gh.httpUrl);
      const page = await b.submit(await b.get(redirectRequest(wiki).path), { login: 'alice', password: 'wrong-password-1' });
      assert.equal(page.status, 401);
      assert.match(page.text, /username or password is not correct/);
      assert.equal(page.forms().some((f) => f.action.startsWith('https:')), false);
    });

    it('shares the lockout with the core: failures here lock the account everywhere', async () => {
      await gh.api('PUT', `/api/organizations/${(await gh.api('GET', '/api/organizations')).body.results[0]._id}`, {
        settings: { passwordPolicy: { enableMaxLoginAttempts: true, maxLoginAttempts: 3, enableLockoutTimeInSeconds: true, lockoutTimeInSeconds: 600 } },
      });
      try {
        const b = new Browser(gh.httpUrl);
        for (let i = 0; i < 3; i++) await b.submit(await b.get(redirectRequest(wiki).path), { login: 'erin', password: `wrong-${i}` });
        assert.equal((await gh.api('GET', `/api/systemusers/${ids.erin}`)).body.account_locked, true);
        const page = await b.submit(await b.get(redirectRequest(wiki).path), { login: 'erin', password: PASSWORD });
        assert.equal(page.status, 401, 'a locked account looks like a wrong password');
        assert.match(page.text, /username or password is not correct/);
        const ldap = await gh.appliance.core.auth.authenticate({ protocol: 'ldap', login: 'erin', password: PASSWORD, clientIp: '127.0.0.1', resource: { type: 'user_portal', id: 'user_portal', name: 'x', mfa: 'none', lockedUsers: 'deny', expiredPasswords: 'allow' } });
        assert.equal(ldap.status, 'locked');
      } finally {
        await gh.api('POST', `/api/systemusers/${ids.erin}/unlock`, {});
        await gh.api('PUT', `/api/organizations/${(await gh.api('GET', '/api/organizations')).body.results[0]._id}`, { settings: { passwordPolicy: { enableMaxLoginAttempts: false } } });
      }
    });
  });

  describe('TOTP', () => {
    let secret: string;
    before(async () => {
      const r = await gh.api('POST', `/api/systemusers/${ids.carol}/totp`, {});
      secret = r.body.secret;
    });

    it('asks for a code after the password, refuses a wrong one, and asserts with mfa after the right one', async () => {
      const codes = totpCodes(secret);
      const b = new Browser(gh.httpUrl);
      const totp = await b.submit(await b.get(redirectRequest(wiki).path), { login: 'carol', password: PASSWORD });
      assert.match(totp.text, /Two-step verification/);
      assert.equal(totp.forms().some((f) => f.action.startsWith('https:')), false, 'no assertion before the code');
      const wrong = await b.submit(totp, { otp: '000000' === codes() ? '111111' : '000000' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /not correct/);
      const ok = await b.submit(wrong, { otp: codes() });
      await parse(wiki, ok);
      const e = (await events(gh, 'sso_auth')).find((x) => x.initiated_by.username === 'carol' && x.success);
      assert.equal(e.mfa, true);
    });

    it('refuses a code that was already used', async () => {
      const codes = totpCodes(secret);
      const b1 = new Browser(gh.httpUrl);
      const t1 = await b1.submit(await b1.get(redirectRequest(wiki).path), { login: 'carol', password: PASSWORD });
      codes();
      const code = codes();
      const b2 = new Browser(gh.httpUrl);
      const t2 = await b2.submit(await b2.get(redirectRequest(wiki).path), { login: 'carol', password: PASSWORD });
      const used = await b1.submit(t1, { otp: code });
      // The first use may or may not succeed (an earlier test may have used this step); the second never does.
      const replay = await b2.submit(t2, { otp: code });
      assert.equal(replay.status, 401);
      assert.match(replay.text, /already used|not correct/);
      assert.equal(replay.forms().some((f) => f.action.startsWith('https:')), false);
      void used;
    });

    it('never turns a half-finished sign-in into an assertion', async () => {
      const b = new Browser(gh.httpUrl);
      await b.submit(await b.get(redirectRequest(wiki).path), { login: 'carol', password: PASSWORD });
      // The browser now holds a session with a pending TOTP step: a new request must not be answered.
      const page = await b.get(redirectRequest(wiki).path);
      assert.equal(page.forms().some((f) => f.action.startsWith('https:')), false);
      const launch = await b.get('/saml2/wiki?launch=1');
      assert.equal(launch.forms().some((f) => f.action.startsWith('https:')), false);
    });

    it('asks an SSO session that never proved a code for one once the user has TOTP', async () => {
      const b = new Browser(gh.httpUrl);
      await b.submit(await b.get(redirectRequest(wiki).path), { login: 'dave', password: PASSWORD });
      const r = await gh.api('POST', `/api/systemusers/${ids.dave}/totp`, {});
      const page = await b.get(redirectRequest(wiki).path);
      assert.match(page.text, /Two-step verification/);
      assert.equal(page.forms().some((f) => f.action.startsWith('https:')), false);
      await parse(wiki, await b.submit(page, { otp: totpCodes(r.body.secret)() }));
    });
  });
});
