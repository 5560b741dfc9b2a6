import assert from 'node:assert/strict';
import { toSamlAttributes } from '../../../src/saml/attributes.js';
import { parseXml } from '../../../src/saml/authn-request.js';
import { buildResponseXml, type ResponseParts } from '../../../src/saml/response-xml.js';
import { createSchemaValidator } from '../../../src/saml/schema-validator.js';
import { makeApplication, makeUser } from '../../helpers/factories.js';

const T = new Date('2025-03-01T10:00:00.000Z');
const parts = (over: Partial<ResponseParts> = {}): ResponseParts => ({
  responseId: '_resp',
  assertionId: '_asrt',
  issueInstant: T,
  issuer: 'https://idp.example/saml2/wiki',
  destination: 'https://sp.example/acs',
  inResponseTo: '_req1',
  audience: 'https://sp.example',
  nameId: 'alice@example.com',
  nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  notBefore: new Date(T.getTime() - 30_000),
  notOnOrAfter: new Date(T.getTime() + 300_000),
  authnInstant: T,
  sessionIndex: 'abc123',
  authnContextClassRef: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  attributes: [{ name: 'mail', values: ['alice@example.com'] }],
  ...over,
});

describe('buildResponseXml', () => {
  const validator = createSchemaValidator({ maxConcurrent: 2 });

  it('is valid against the SAML 2.0 protocol schema', async () => {
    await validator.validateProtocol(buildResponseXml(parts()));
    await validator.validateProtocol(buildResponseXml(parts({ attributes: [], inResponseTo: null })));
  });

  it('carries Issuer, NameID, bearer confirmation with Recipient/NotOnOrAfter/InResponseTo, Audience, validity and AuthnStatement', () => {
    const doc = parseXml(buildResponseXml(parts()))!;
    const one = (name: string) => doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', name).item(0)!;
    assert.equal(doc.documentElement!.getAttribute('Destination'), 'https://sp.example/acs');
    assert.equal(doc.documentElement!.getAttribute('InResponseTo'), '_req1');
    assert.equal(one('Issuer').textContent, 'https://idp.example/saml2/wiki');
    assert.equal(one('NameID').textContent, 'alice@example.com');
    assert.equal(one('NameID').getAttribute('Format'), 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    assert.equal(one('SubjectConfirmation').getAttribute('Method'), 'urn:oasis:names:tc:SAML:2.0:cm:bearer');
    const scd = one('SubjectConfirmationData');
    assert.equal(scd.getAttribute('Recipient'), 'https://sp.example/acs');
    assert.equal(scd.getAttribute('InResponseTo'), '_req1');
    assert.equal(scd.getAttribute('NotOnOrAfter'), '2025-03-01T10:05:00Z');
    assert.equal(one('Conditions').getAttribute('NotBefore'), '2025-03-01T09:59:30Z');
    assert.equal(one('Conditions').getAttribute('NotOnOrAfter'), '2025-03-01T10:05:00Z');
    assert.equal(one('Audience').textContent, 'https://sp.example');
    assert.equal(one('AuthnStatement').getAttribute('SessionIndex'), 'abc123');
    assert.equal(one('AuthnStatement').getAttribute('AuthnInstant'), '2025-03-01T10:00:00Z');
  });

  it('omits InResponseTo for IdP-initiated sign-on, and an empty attribute statement', () => {
    const xml = buildResponseXml(parts({ inResponseTo: null, attributes: [] }));
    assert.doesNotMatch(xml, /InResponseTo/);
    assert.doesNotMatch(xml, /AttributeStatement/);
  });

  it('turns no user field into markup (attribute injection)', async () => {
    const hostile = '</saml:AttributeValue></saml:Attribute><saml:Attribute Name="role"><saml:AttributeValue>admin';
    const xml = buildResponseXml(parts({ nameId: `x</saml:NameID><saml:NameID>admin@example.com`, attributes: [{ name: 'displayName', values: [hostile] }] }));
    await validator.validateProtocol(xml);
    const doc = parseXml(xml)!;
    const attrs = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Attribute');
    assert.equal(attrs.length, 1);
    assert.equal(attrs.item(0)!.getAttribute('Name'), 'displayName');
    assert.equal(doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'AttributeValue').item(0)!.textContent, hostile);
    assert.equal(doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'NameID').length, 1);
  });
});

describe('toSamlAttributes', () => {
  const user = makeUser({ username: 'alice', email: 'alice@example.com', firstname: 'Alice', lastname: '', displayname: '', department: '' });
  const app = makeApplication({
    config: {
      ...makeApplication().config,
      attributes: [
        { name: 'mail', value: 'email' },
        { name: 'dept', value: 'department' },
        { name: 'name', value: 'displayname' },
      ],
      constantAttributes: [
        { name: 'tenant', value: 'acme' },
        { name: 'mail', value: 'shadowed@example.com' },
      ],
      groupAttribute: 'groups',
    },
  });

  it('maps user fields, adds constants and the group attribute with one value per group', () => {
    assert.deepEqual(toSamlAttributes(user, app, ['admins', 'staff']), [
      { name: 'mail', values: ['alice@example.com'] },
      { name: 'name', values: ['Alice'] },
      { name: 'tenant', values: ['acme'] },
      { name: 'groups', values: ['admins', 'staff'] },
    ]);
  });

  it('leaves out empty mapped values and a group attribute without groups', () => {
    const names = toSamlAttributes(user, app, []).map((a) => a.name);
    assert.ok(!names.includes('dept'));
    assert.ok(!names.includes('groups'));
  });
});
