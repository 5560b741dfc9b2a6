import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { signedInConsole, type ConsoleClient } from './support.js';

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const ACS_A = 'https://md.example.test/saml/acs?a=1&b=2';
const ACS_B = 'https://md.example.test/saml/acs2';
const METADATA = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://md.example.test/sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="${POST}" Location="${ACS_A.replace(/&/g, '&amp;')}" index="1"/><md:AssertionConsumerService Binding="${POST}" Location="${ACS_B}" index="5"/></md:SPSSODescriptor></md:EntityDescriptor>`;
const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#96;/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const EXPECTED = [
  { index: 1, url: ACS_A },
  { index: 5, url: ACS_B },
];

/**
 * SP metadata imported in the console keeps the index of each ACS endpoint (an AuthnRequest may
 * name its ACS by that index): through the new-application form, which carries the indexes in a
 * hidden field, and through saving that form or the edit form later.
 */
describe('admin console (HTTP): ACS indexes from imported SP metadata', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let admin: ConsoleClient;

  before(async () => {
    gh = await startAppliance();
    admin = await signedInConsole(gh);
  });
  after(async () => gh?.stop());

  it('creates the app with the metadata indexes, and saving the edit form keeps them', async () => {
    const prefilled = await admin.post('/admin/apps/new/metadata', { metadata: METADATA });
    assert.equal(prefilled.status, 200, prefilled.text.slice(0, 300));
    const hidden = /name="acsIndexes" value="([^"]*)"/.exec(prefilled.text);
    assert.ok(hidden, 'the form carries the indexes');
    assert.deepEqual(JSON.parse(unescape(hidden[1]!)), EXPECTED);
    assert.match(prefilled.text, /Indexes from the SP metadata: 1 → /);

    const form = {
      name: 'md',
      displayLabel: 'Metadata app',
      spEntityId: 'https://md.example.test/sp',
      acsUrls: `${ACS_A}\n${ACS_B}`,
      acsIndexes: unescape(hidden[1]!),
      nameIdAttribute: 'email',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      signAssertion: 'on',
      signResponse: 'on',
    };
    const created = await admin.post('/admin/apps', form);
    assert.equal(created.status, 200, created.text.slice(0, 300));
    const app = (await gh.appliance.core.applications.list(10, 0)).items.find((a) => a.name === 'md');
    assert.ok(app);
    assert.deepEqual(app.config.acsIndexes, [
      { index: 1, url: ACS_A },
      { index: 5, url: ACS_B },
    ]);

    // The edit form shows them and sends them back; saving it changes nothing about them.
    const edit = await admin.get(`/admin/apps/${app.id}`);
    const again = /name="acsIndexes" value="([^"]*)"/.exec(edit.text);
    assert.deepEqual(JSON.parse(unescape(again![1]!)), EXPECTED);
    const saved = await admin.post(`/admin/apps/${app.id}`, { ...form, displayLabel: 'Renamed', acsIndexes: unescape(again![1]!) });
    assert.match(saved.text, /Changes saved/);
    assert.deepEqual((await gh.appliance.core.applications.get(app.id)).config.acsIndexes, app.config.acsIndexes);

    // A tampered hidden field is refused by core's validation, with the form shown again.
    const bad = await admin.post(`/admin/apps/${app.id}`, { ...form, acsIndexes: JSON.stringify([{ index: 'x', url: ACS_A }]) });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /integer from 0 to 65535/);
    assert.equal((await admin.post(`/admin/apps/${app.id}`, { ...form, acsIndexes: 'not json' })).status, 400);
  });

  it('keeps a URL with a space or quotes intact through the hidden field, and drops the index of a URL taken out of the list', async () => {
    const odd = 'https://md.example.test/acs%20x?q="a b"';
    const put = await gh.api('POST', '/api/applications', {
      name: 'odd',
      config: { spEntityId: 'https://odd.example.test/sp', acsUrls: [ACS_B, odd], acsIndexes: [{ index: 2, url: odd }, { index: 3, url: ACS_B }] },
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const id = put.body._id as string;
    const page = await admin.get(`/admin/apps/${id}`);
    const hidden = /name="acsIndexes" value="([^"]*)"/.exec(page.text)![1]!;
    assert.deepEqual(JSON.parse(unescape(hidden)), [{ index: 2, url: odd }, { index: 3, url: ACS_B }]);
    // The admin takes the odd URL out of the list: its index goes with it.
    const saved = await admin.post(`/admin/apps/${id}`, {
      name: 'odd',
      displayLabel: 'odd',
      spEntityId: 'https://odd.example.test/sp',
      acsUrls: ACS_B,
      acsIndexes: unescape(hidden),
      nameIdAttribute: 'email',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      signAssertion: 'on',
      signResponse: 'on',
    });
    assert.match(saved.text, /Changes saved/);
    assert.deepEqual((await gh.appliance.core.applications.get(id)).config.acsIndexes, [{ index: 3, url: ACS_B }]);
    // Through the API too: an index naming an unregistered URL is not kept.
    const r = await gh.api('PUT', `/api/applications/${id}`, { config: { acsIndexes: [{ index: 4, url: 'https://evil.example/acs' }, { index: 3, url: ACS_B }] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.config.acsIndexes, [{ index: 3, url: ACS_B }]);
  });
});
