import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { signedInConsole, type ConsoleClient } from './support.js';

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const ACS_A = 'https://md.example.test/saml/acs?a=1&b=2';
const ACS_B = 'https://md.example.test/saml/acs2';
const METADATA = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://md.example.test/sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="${POST}" Location="${ACS_A.replace(/&/g, '&amp;')}" index="1"/><md:AssertionConsumerService Binding="${POST}" Location="${ACS_B}" index="5"/></md:SPSSODescriptor></md:EntityDescriptor>`;
const unescape = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x2F;/gi, '/').replace(/&#x3D;/gi, '=');

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
    assert.equal(unescape(hidden[1]!), `1 ${ACS_A} 5 ${ACS_B}`);
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
    assert.equal(unescape(again![1]!), `1 ${ACS_A} 5 ${ACS_B}`);
    const saved = await admin.post(`/admin/apps/${app.id}`, { ...form, displayLabel: 'Renamed', acsIndexes: unescape(again![1]!) });
    assert.match(saved.text, /Changes saved/);
    assert.deepEqual((await gh.appliance.core.applications.get(app.id)).config.acsIndexes, app.config.acsIndexes);

    // A tampered hidden field is refused by core's validation, with the form shown again.
    const bad = await admin.post(`/admin/apps/${app.id}`, { ...form, acsIndexes: `x ${ACS_A}` });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /integer from 0 to 65535/);
  });
});
