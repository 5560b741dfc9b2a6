import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, HEX24, MISSING_ID } from './support.js';

const WIKI = {
  name: 'wiki',
  displayLabel: 'Team Wiki',
  config: { spEntityId: 'https://wiki.example.com/saml/metadata', acsUrls: ['https://wiki.example.com/saml/acs'] },
};

describe('SAML applications (v1)', function () {
  let run: RunningAppliance;
  // `any`: application JSON as the API returns it.
  let wiki: any;

  before(async function () {
    run = await startAppliance();
  });

  after(async function () {
    await run?.stop();
  });

  describe('POST /api/applications', function () {
    it('creates an application with an ssoUrl ending /saml2/<name>', async function () {
      const res = await run.api('POST', '/api/applications', WIKI);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      wiki = res.body;
      assert.match(wiki._id, HEX24);
      assert.equal(wiki.name, 'wiki');
      assert.equal(wiki.displayLabel, 'Team Wiki');
      assert.match(wiki.ssoUrl, /^https?:\/\/[^/]+\/saml2\/wiki$/);
      assert.equal(wiki.config.spEntityId, WIKI.config.spEntityId);
      assert.deepEqual(wiki.config.acsUrls, WIKI.config.acsUrls);
      assert.equal(typeof wiki.config.nameIdFormat, 'string');
      assert.equal(typeof wiki.config.signAssertion, 'boolean');
      assert.ok(wiki.config.signAssertion || wiki.config.signResponse, 'something is signed by default');
      assert.ok(Array.isArray(wiki.config.attributes));
    });

    it('keeps names in lower case, as /saml2/<name> is matched: APP1 next to app1 is a 409, and a dotted name is served', async function () {
      const config = { spEntityId: 'https://case.example.com', acsUrls: ['https://case.example.com/acs'] };
      const upper = await run.api('POST', '/api/applications', { name: 'CaseApp', config });
      assert.equal(upper.status, 201, JSON.stringify(upper.body));
      assert.equal(upper.body.name, 'caseapp');
      assert.match(upper.body.ssoUrl, /\/saml2\/caseapp$/);
      assertError(await run.api('POST', '/api/applications', { name: 'CASEAPP', config }), 409, 'name');
      const dotted = await run.api('POST', '/api/applications', { name: 'team.notes', config: { ...config, spEntityId: 'https://notes.example.com' } });
      assert.equal(dotted.status, 201, JSON.stringify(dotted.body));
      const metadata = await fetch(`${run.httpUrl}/saml2/Team.Notes/metadata`);
      assert.equal(metadata.status, 200);
      assert.match(await metadata.text(), /entityID="[^"]*\/saml2\/team\.notes"/);
      for (const a of [upper.body, dotted.body]) await run.api('DELETE', `/api/applications/${a._id}`);
    });

    it('refuses missing acsUrls with 400 naming config.acsUrls', async function () {
      const res = await run.api('POST', '/api/applications', { name: 'noacs', config: { spEntityId: 'https://noacs.example.com' } });
      assertError(res, 400, 'config.acsUrls');
    });

    it('refuses an empty acsUrls list with 400', async function () {
      const res = await run.api('POST', '/api/applications', { name: 'noacs', config: { spEntityId: 'https://noacs.example.com', acsUrls: [] } });
      assertError(res, 400, 'config.acsUrls');
    });

    it('refuses a non-URL ACS with 400 naming config.acsUrls[0]', async function () {
      const res = await run.api('POST', '/api/applications', { name: 'badacs', config: { spEntityId: 'https://bad.example.com', acsUrls: ['not a url'] } });
      assertError(res, 400, 'config.acsUrls[0]');
    });

    it('refuses a non-http ACS scheme with 400 naming its index', async function () {
      const res = await run.api('POST', '/api/applications', {
        name: 'badacs',
        config: { spEntityId: 'https://bad.example.com', acsUrls: ['https://bad.example.com/acs', 'javascript:alert(1)'] },
      });
      assertError(res, 400, 'config.acsUrls[1]');
    });

    it('refuses a missing spEntityId with 400', async function () {
      const res = await run.api('POST', '/api/applications', { name: 'noentity', config: { acsUrls: ['https://x.example.com/acs'] } });
      assertError(res, 400, 'config.spEntityId');
    });

    it('refuses a duplicate name with 409 naming name', async function () {
      assertError(await run.api('POST', '/api/applications', WIKI), 409, 'name');
    });

    it('refuses a name that cannot be a URL path segment with 400', async function () {
      assertError(await run.api('POST', '/api/applications', { ...WIKI, name: 'wiki/../admin' }), 400, 'name');
    });

    it('created none of the refused applications', async function () {
      const res = await run.api('GET', '/api/applications');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totalCount, 1);
      assert.deepEqual(res.body.results.map((a: { name: string }) => a.name), ['wiki']);
    });
  });

  describe('GET /api/applications/{id}', function () {
    it('returns the application', async function () {
      const res = await run.api('GET', `/api/applications/${wiki._id}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, wiki);
    });

    it('answers 404 for an unknown id', async function () {
      assertError(await run.api('GET', `/api/applications/${MISSING_ID}`), 404);
    });
  });

  describe('PUT /api/applications/{id}', function () {
    it('updates the label and ACS URLs and keeps the entity id', async function () {
      const res = await run.api('PUT', `/api/applications/${wiki._id}`, {
        displayLabel: 'Knowledge Base',
        config: { acsUrls: ['https://wiki.example.com/saml/acs', 'https://wiki.example.com/saml/acs2'] },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.displayLabel, 'Knowledge Base');
      assert.equal(res.body.config.acsUrls.length, 2);
      assert.equal(res.body.config.spEntityId, WIKI.config.spEntityId);
      assert.equal((await run.api('GET', `/api/applications/${wiki._id}`)).body.displayLabel, 'Knowledge Base');
    });

    it('moves the ssoUrl with a new name', async function () {
      const res = await run.api('PUT', `/api/applications/${wiki._id}`, { name: 'kb' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.ssoUrl, /\/saml2\/kb$/);
    });

    it('refuses a bad ACS URL with 400 and changes nothing', async function () {
      assertError(await run.api('PUT', `/api/applications/${wiki._id}`, { config: { acsUrls: ['nope'] } }), 400, 'config.acsUrls[0]');
      assert.equal((await run.api('GET', `/api/applications/${wiki._id}`)).body.config.acsUrls.length, 2);
    });

    it('sets, validates and removes the single logout endpoint', async function () {
      const set = await run.api('PUT', `/api/applications/${wiki._id}`, { config: { sloUrl: 'https://wiki.example.com/saml/slo' } });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.equal(set.body.config.sloUrl, 'https://wiki.example.com/saml/slo');
      assert.equal(set.body.config.sloBinding, 'redirect', 'HTTP-Redirect unless said');
      // Without the SP's certificate no logout request could be verified: no endpoint is offered.
      assert.equal(set.body.config.idpSloUrl, undefined);
      assert.doesNotMatch(await (await fetch(`${run.httpUrl}/saml2/kb/metadata`)).text(), /SingleLogoutService/);
      assertError(await run.api('PUT', `/api/applications/${wiki._id}`, { config: { sloUrl: 'javascript:alert(1)' } }), 400, 'config.sloUrl');
      assertError(await run.api('PUT', `/api/applications/${wiki._id}`, { config: { sloBinding: 'soap' } }), 400, 'config.sloBinding');
      assert.equal((await run.api('PUT', `/api/applications/${wiki._id}`, { config: { sloBinding: 'post' } })).body.config.sloBinding, 'post');
      const removed = await run.api('PUT', `/api/applications/${wiki._id}`, { config: { sloUrl: '' } });
      assert.equal(removed.status, 200);
      assert.equal(removed.body.config.sloUrl, undefined);
      assert.equal(removed.body.config.sloBinding, undefined);
    });

    it('refuses renaming onto another application with 409', async function () {
      const other = await run.api('POST', '/api/applications', { ...WIKI, name: 'crm' });
      assert.equal(other.status, 201, JSON.stringify(other.body));
      assertError(await run.api('PUT', `/api/applications/${wiki._id}`, { name: 'crm' }), 409, 'name');
    });

    it('answers 404 for an unknown id', async function () {
      assertError(await run.api('PUT', `/api/applications/${MISSING_ID}`, { displayLabel: 'Ghost' }), 404);
    });
  });

  describe('DELETE /api/applications/{id}', function () {
    it('deletes the application, then answers 404', async function () {
      const res = await run.api('DELETE', `/api/applications/${wiki._id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertError(await run.api('GET', `/api/applications/${wiki._id}`), 404);
      assertError(await run.api('DELETE', `/api/applications/${wiki._id}`), 404);
      assert.deepEqual((await run.api('GET', '/api/applications')).body.results.map((a: { name: string }) => a.name), ['crm']);
    });
  });
});
