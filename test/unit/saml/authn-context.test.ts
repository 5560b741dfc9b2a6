import assert from 'node:assert/strict';
import {
  AC_PASSWORD,
  AC_PASSWORD_PROTECTED_TRANSPORT as PPT,
  AC_REFEDS_MFA as MFA,
  AC_UNSPECIFIED,
  chooseClassRef,
  satisfyingMethods,
} from '../../../src/saml/authn-context.js';
import { readAuthnRequest } from '../../../src/saml/authn-request.js';
import { nameIdPolicyProblem, NAMEID_UNSPECIFIED } from '../../../src/saml/name-id-policy.js';
import { buildErrorResponseXml, STATUS_NO_PASSIVE, STATUS_RESPONDER } from '../../../src/saml/response-xml.js';
import { createSchemaValidator } from '../../../src/saml/schema-validator.js';

const KERBEROS = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos';
const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

describe('chooseClassRef (RequestedAuthnContext, SAML core §3.3.2.2.1)', () => {
  const req = (comparison: string, ...classRefs: string[]) => ({ comparison, classRefs });
  // [what was asked, https public URL?, class for a password sign-in, class for password + TOTP]
  const table: [string, ReturnType<typeof req> | null, boolean, string | null, string | null][] = [
    ['nothing, over https: what happened', null, true, PPT, MFA],
    ['nothing, over plain http: what happened', null, false, AC_PASSWORD, MFA],
    ['exact PasswordProtectedTransport over https', req('exact', PPT), true, PPT, PPT],
    ['exact PasswordProtectedTransport over plain http: never claimed', req('exact', PPT), false, null, null],
    ['exact REFEDS MFA', req('exact', MFA), true, null, MFA],
    ['exact, ordered by preference', req('exact', MFA, PPT), true, PPT, MFA],
    ['exact Kerberos (not done here)', req('exact', KERBEROS), true, null, null],
    ['exact unspecified', req('exact', AC_UNSPECIFIED), true, AC_UNSPECIFIED, AC_UNSPECIFIED],
    ['minimum Password over https', req('minimum', AC_PASSWORD), true, PPT, MFA],
    ['minimum PasswordProtectedTransport', req('minimum', PPT), true, PPT, MFA],
    ['minimum REFEDS MFA', req('minimum', MFA), true, null, MFA],
    ['minimum of an unknown class and PPT', req('minimum', KERBEROS, PPT), true, PPT, MFA],
    ['minimum of an unknown class only', req('minimum', KERBEROS), true, null, null],
    ['better PasswordProtectedTransport', req('better', PPT), true, null, MFA],
    ['better with an unknown class', req('better', KERBEROS), true, null, null],
    ['maximum PasswordProtectedTransport', req('maximum', PPT), true, PPT, PPT],
    ['maximum Password over https', req('maximum', AC_PASSWORD), true, AC_PASSWORD, AC_PASSWORD],
  ];
  for (const [what, requested, https, password, mfa] of table) {
    it(`answers ${what}`, () => {
      assert.equal(chooseClassRef('password', https, requested), password, 'password');
      assert.equal(chooseClassRef('mfa', https, requested), mfa, 'password + TOTP');
      const methods = satisfyingMethods(requested, https);
      if (requested === null) assert.equal(methods, null);
      else assert.deepEqual(methods, [...(password ? ['password'] : []), ...(mfa ? ['mfa'] : [])]);
    });
  }

  it('never satisfies declaration references', () => {
    assert.equal(chooseClassRef('mfa', true, { comparison: 'exact', classRefs: [], declRefs: ['urn:x'] }), null);
  });
});

describe('nameIdPolicyProblem (SAML core §3.4.1.1)', () => {
  const app = { nameIdFormat: EMAIL, spEntityId: 'https://sp' };
  const table: [string, Parameters<typeof nameIdPolicyProblem>[0], boolean][] = [
    ['no policy', null, true],
    ['a policy without Format', { format: null, spNameQualifier: null, allowCreate: true }, true],
    ['the configured format', { format: EMAIL, spNameQualifier: null, allowCreate: false }, true],
    ['the configured format with AllowCreate', { format: EMAIL, spNameQualifier: null, allowCreate: true }, true],
    ['unspecified', { format: NAMEID_UNSPECIFIED, spNameQualifier: null, allowCreate: true }, true],
    ['SPNameQualifier = the requester', { format: EMAIL, spNameQualifier: 'https://sp', allowCreate: null }, true],
    ['another format', { format: PERSISTENT, spNameQualifier: null, allowCreate: true }, false],
    ['encrypted identifiers', { format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted', spNameQualifier: null, allowCreate: null }, false],
    ['another SP namespace', { format: null, spNameQualifier: 'https://affiliation', allowCreate: null }, false],
  ];
  for (const [what, policy, ok] of table) {
    it(`${ok ? 'accepts' : 'cannot honour'} ${what}`, () => assert.equal(nameIdPolicyProblem(policy, app) === null, ok));
  }
  it('lets an app configured with unspecified refuse a specific format', () => {
    assert.notEqual(nameIdPolicyProblem({ format: EMAIL, spNameQualifier: null, allowCreate: null }, { nameIdFormat: NAMEID_UNSPECIFIED, spEntityId: 'https://sp' }), null);
  });
});

describe('readAuthnRequest: NameIDPolicy, RequestedAuthnContext, IssueInstant', () => {
  const REQUEST = (inner: string) =>
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2025-01-01T00:00:00Z"><saml:Issuer>https://sp</saml:Issuer>${inner}</samlp:AuthnRequest>`;

  it('reads the policy and the requested context, with Comparison exact by default', () => {
    const r = readAuthnRequest(
      REQUEST(
        `<samlp:NameIDPolicy Format="${PERSISTENT}" SPNameQualifier="https://sp" AllowCreate="true"/>` +
          `<samlp:RequestedAuthnContext><saml:AuthnContextClassRef> ${MFA} </saml:AuthnContextClassRef><saml:AuthnContextClassRef>${PPT}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>`,
      ),
    );
    assert.ok(r.ok);
    assert.equal(r.fields.issueInstant, '2025-01-01T00:00:00Z');
    assert.deepEqual(r.fields.nameIdPolicy, { format: PERSISTENT, spNameQualifier: 'https://sp', allowCreate: true });
    assert.deepEqual(r.fields.requestedAuthnContext, { comparison: 'exact', classRefs: [MFA, PPT], declRefs: [] });
  });

  it('reads an explicit Comparison and no policy as null', () => {
    const r = readAuthnRequest(REQUEST(`<samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>${PPT}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>`));
    assert.ok(r.ok);
    assert.equal(r.fields.nameIdPolicy, null);
    assert.equal(r.fields.requestedAuthnContext?.comparison, 'minimum');
    const none = readAuthnRequest(REQUEST(''));
    assert.ok(none.ok);
    assert.equal(none.fields.requestedAuthnContext, null);
  });
});

describe('buildErrorResponseXml', () => {
  const xml = buildErrorResponseXml({
    responseId: '_e1',
    issueInstant: new Date('2025-03-01T10:00:00.000Z'),
    issuer: 'https://idp.example/saml2/wiki',
    destination: 'https://sp.example/acs?a=1&b=<2>',
    inResponseTo: '_req1',
    topStatus: STATUS_RESPONDER,
    subStatus: STATUS_NO_PASSIVE,
    message: 'The user cannot be signed in without interaction.',
  });

  it('is valid against the SAML 2.0 protocol schema and carries no assertion', async () => {
    await createSchemaValidator({ maxConcurrent: 1 }).validateProtocol(xml);
    assert.doesNotMatch(xml, /Assertion/);
  });

  it('nests the second-level status in the top-level one, and escapes values', () => {
    assert.match(
      xml,
      /<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:NoPassive"\/><\/samlp:StatusCode><samlp:StatusMessage>/,
    );
    assert.match(xml, /Destination="https:\/\/sp\.example\/acs\?a=1&amp;b=&lt;2&gt;" InResponseTo="_req1"/);
  });
});
