import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { selectAcs } from '../../../src/saml/acs.js';
import { readAuthnRequest, readSpMetadata } from '../../../src/saml/authn-request.js';
import { checkRelayState } from '../../../src/saml/relay-state.js';
import { escapeXml, escapeXmlAttribute } from '../../../src/saml/xml-escape.js';
import { checkXmlText, decodeSamlMessage } from '../../../src/saml/xml-guard.js';
import { redirectSignedOctets } from '../../../src/saml/idp-entity.js';
import { readLogoutRequest } from '../../../src/saml/single-logout.js';

const LIMITS = { maxEncodedBytes: 16_384, maxXmlBytes: 65_536 };
const REQUEST =
  '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2025-01-01T00:00:00Z" AssertionConsumerServiceURL="https://sp/acs"><saml:Issuer>https://sp</saml:Issuer></samlp:AuthnRequest>';

describe('XML escaping', () => {
  const table: [string, string][] = [
    ['plain', 'plain'],
    ['a & b', 'a &amp; b'],
    ['</saml:NameID><saml:NameID>admin', '&lt;/saml:NameID&gt;&lt;saml:NameID&gt;admin'],
    ['x" Recipient="https://evil', 'x&quot; Recipient=&quot;https://evil'],
    ["o'brien", 'o&apos;brien'],
    ['<![CDATA[x]]>', '&lt;![CDATA[x]]&gt;'],
    ['bell\u0007 nul\u0000', 'bell\uFFFD nul\uFFFD'],
    ['lone \uD800 surrogate', 'lone \uFFFD surrogate'],
    ['emoji 😀 stays', 'emoji 😀 stays'],
  ];
  for (const [input, expected] of table) {
    it(`escapes ${JSON.stringify(input)}`, () => assert.equal(escapeXml(input), expected));
  }
  it('keeps tabs and newlines of attribute values as character references', () => {
    assert.equal(escapeXmlAttribute('a\tb\nc\rd'), 'a&#9;b&#10;c&#13;d');
  });
});

describe('decodeSamlMessage (size caps, inflate, DOCTYPE)', () => {
  const redirect = (xml: string) => deflateRawSync(Buffer.from(xml)).toString('base64');
  const post = (xml: string) => Buffer.from(xml).toString('base64');

  it('decodes an HTTP-Redirect (deflated) and an HTTP-POST (plain) request', () => {
    assert.deepEqual(decodeSamlMessage(redirect(REQUEST), 'redirect', LIMITS), { ok: true, xml: REQUEST });
    assert.deepEqual(decodeSamlMessage(post(REQUEST), 'post', LIMITS), { ok: true, xml: REQUEST });
  });

  it('refuses a parameter over the encoded cap before decoding it', () => {
    const r = decodeSamlMessage('A'.repeat(16_385), 'post', LIMITS);
    assert.equal(r.ok === false && r.reason, 'too_large');
  });

  it('stops inflating at the cap (deflate bomb)', () => {
    const bomb = redirect(REQUEST.replace('</samlp:AuthnRequest>', `${' '.repeat(5_000_000)}</samlp:AuthnRequest>`));
    assert.ok(bomb.length < LIMITS.maxEncodedBytes);
    const r = decodeSamlMessage(bomb, 'redirect', LIMITS);
    assert.equal(r.ok === false && r.reason, 'too_large');
  });

  it('refuses a POST message over the XML cap', () => {
    const r = decodeSamlMessage(post(' '.repeat(70_000)), 'post', { maxEncodedBytes: 1_000_000, maxXmlBytes: 65_536 });
    assert.equal(r.ok === false && r.reason, 'too_large');
  });

  for (const prolog of ['<!DOCTYPE x>', '<!DOCTYPE x [<!ENTITY e "v">]>', '<!doctype x SYSTEM "file:///etc/passwd">', '<!ENTITY e SYSTEM "http://x">', '<!  DOCTYPE x>']) {
    it(`refuses ${prolog}`, () => {
      const r = decodeSamlMessage(post(`<?xml version="1.0"?>${prolog}${REQUEST}`), 'post', LIMITS);
      assert.equal(r.ok === false && r.reason, 'doctype');
    });
  }

  it('refuses non-base64, non-deflate, empty and non-XML input', () => {
    for (const [input, binding] of [
      ['%%%', 'post'],
      [post('not deflated'), 'redirect'],
      ['', 'post'],
      [post('just text'), 'post'],
      [post('\xff\xfe'), 'post'],
    ] as const) {
      const r = decodeSamlMessage(input, binding, LIMITS);
      assert.equal(r.ok, false, `${JSON.stringify(input)} was accepted`);
    }
  });

  it('checkXmlText accepts an XML declaration and refuses a DOCTYPE after a comment', () => {
    assert.equal(checkXmlText(`<?xml version="1.0" encoding="UTF-8"?>\n${REQUEST}`).ok, true);
    assert.equal(checkXmlText(`<!-- c --><!DOCTYPE x>${REQUEST}`).ok, false);
  });
});

describe('checkRelayState', () => {
  it('passes a short value through unchanged and an absent one as null', () => {
    assert.deepEqual(checkRelayState('https://sp/page?x=1', 80), { ok: true, value: 'https://sp/page?x=1' });
    assert.deepEqual(checkRelayState(undefined, 80), { ok: true, value: null });
    assert.deepEqual(checkRelayState('', 80), { ok: true, value: null });
  });
  it('refuses a value over the limit in bytes (not characters)', () => {
    assert.equal(checkRelayState('x'.repeat(80), 80).ok, true);
    assert.equal(checkRelayState('x'.repeat(81), 80).ok, false);
    assert.equal(checkRelayState('é'.repeat(41), 80).ok, false);
  });
  it('refuses control characters', () => {
    assert.equal(checkRelayState('a\r\nSet-Cookie: x', 80).ok, false);
  });
});

describe('selectAcs (exact match)', () => {
  const registered = ['https://sp.example/acs', 'https://sp.example/acs2'];
  const table: [string, Parameters<typeof selectAcs>[1], string | null][] = [
    ['the URL asked for, when registered', { url: 'https://sp.example/acs2' }, 'https://sp.example/acs2'],
    ['the first registered URL when none is asked for', {}, 'https://sp.example/acs'],
    ['an index into the registered list', { index: '1' }, 'https://sp.example/acs2'],
    ['not a trailing slash', { url: 'https://sp.example/acs/' }, null],
    ['not another case', { url: 'HTTPS://SP.EXAMPLE/acs' }, null],
    ['not a query string', { url: 'https://sp.example/acs?next=x' }, null],
    ['not a dot segment', { url: 'https://sp.example/x/../acs' }, null],
    ['not another host', { url: 'https://evil.example/acs' }, null],
    ['not an index out of range', { index: '5' }, null],
    ['not a non-numeric index', { index: '-1' }, null],
    ['not both a URL and an index', { url: 'https://sp.example/acs', index: '0' }, null],
    ['not another response binding', { url: 'https://sp.example/acs', protocolBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect' }, null],
  ];
  for (const [what, req, expected] of table) {
    it(`chooses ${what}`, () => {
      const r = selectAcs(registered, req);
      assert.equal(r.ok ? r.url : null, expected);
    });
  }
});

describe('selectAcs with the indexes of imported SP metadata (SAML metadata §2.2.3)', () => {
  const registered = ['https://sp.example/acs', 'https://sp.example/acs2'];
  const indexes = [
    { index: 1, url: 'https://sp.example/acs' },
    { index: 7, url: 'https://sp.example/acs2' },
    { index: 9, url: 'https://sp.example/removed' },
  ];
  const table: [string, string, string | null][] = [
    ['index 1 names the endpoint the metadata numbered 1', '1', 'https://sp.example/acs'],
    ['a sparse index', '7', 'https://sp.example/acs2'],
    ['an index with a plus sign, leading zeros and spaces (xs:unsignedShort forms)', ' +0007 ', 'https://sp.example/acs2'],
    ['not an index over 65535', '65537', null],
    ['not index 0 (no endpoint has it), though a list has a position 0', '0', null],
    ['not an index whose URL is no longer registered', '9', null],
    ['not an index out of the metadata', '2', null],
  ];
  for (const [what, index, expected] of table) {
    it(`chooses ${what}`, () => {
      const r = selectAcs(registered, { index }, indexes);
      assert.equal(r.ok ? r.url : null, expected);
    });
  }
});

describe('readSpMetadata: ACS endpoints and their indexes', () => {
  const md = (acs: string) =>
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${acs}</md:SPSSODescriptor></md:EntityDescriptor>`;
  const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
  it('keeps the index of each POST endpoint, default first in the URL list', () => {
    const r = readSpMetadata(
      md(
        `<md:AssertionConsumerService Binding="${POST}" Location="https://sp/a" index="3"/>` +
          `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp/art" index="1"/>` +
          `<md:AssertionConsumerService Binding="${POST}" Location="https://sp/b" index="2" isDefault="true"/>` +
          `<md:AssertionConsumerService Binding="${POST}" Location="https://sp/dup" index="2"/>`,
      ),
    );
    assert.ok(r.ok);
    assert.deepEqual(r.acsUrls, ['https://sp/b', 'https://sp/dup', 'https://sp/a']);
    assert.deepEqual(r.acsIndexes, [
      { index: 2, url: 'https://sp/b' },
      { index: 3, url: 'https://sp/a' },
    ]);
  });
});

describe('readSpMetadata: the single logout endpoint', () => {
  const md = (slo: string) =>
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${slo}<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>`;
  const B = 'urn:oasis:names:tc:SAML:2.0:bindings:';
  it('prefers HTTP-Redirect, then HTTP-POST, and the ResponseLocation over the Location', () => {
    const both = readSpMetadata(md(`<md:SingleLogoutService Binding="${B}HTTP-POST" Location="https://sp/slo-post"/><md:SingleLogoutService Binding="${B}HTTP-Redirect" Location="https://sp/slo" ResponseLocation="https://sp/slo-done"/>`));
    assert.ok(both.ok);
    assert.deepEqual(both.slo, { url: 'https://sp/slo-done', binding: 'redirect' });
    const post = readSpMetadata(md(`<md:SingleLogoutService Binding="${B}SOAP" Location="https://sp/soap"/><md:SingleLogoutService Binding="${B}HTTP-POST" Location="https://sp/slo-post"/>`));
    assert.ok(post.ok);
    assert.deepEqual(post.slo, { url: 'https://sp/slo-post', binding: 'post' });
    const none = readSpMetadata(md(`<md:SingleLogoutService Binding="${B}SOAP" Location="https://sp/soap"/>`));
    assert.ok(none.ok);
    assert.equal(none.slo, null);
  });
});

describe('readLogoutRequest', () => {
  const LOGOUT =
    '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l1" Version="2.0" IssueInstant="2025-01-01T00:00:00Z" Destination="https://idp/slo"><saml:Issuer>https://sp</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">ivy@example.com</saml:NameID><samlp:SessionIndex>a1</samlp:SessionIndex><samlp:SessionIndex>b2</samlp:SessionIndex></samlp:LogoutRequest>';
  it('reads the principal, its format and every SessionIndex', () => {
    const r = readLogoutRequest(LOGOUT);
    assert.ok(!('status' in r));
    assert.equal(r.fields.id, '_l1');
    assert.equal(r.fields.issuer, 'https://sp');
    assert.equal(r.fields.destination, 'https://idp/slo');
    assert.equal(r.fields.nameId, 'ivy@example.com');
    assert.equal(r.fields.nameIdFormat, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    assert.deepEqual(r.fields.sessionIndexes, ['a1', 'b2']);
  });
  it('refuses another root, an embedded signature (HTTP-Redirect signs the query) and a principal that is not a NameID', () => {
    const refused = (xml: string) => {
      const r = readLogoutRequest(xml);
      return 'status' in r ? r.reason : 'accepted';
    };
    assert.equal(refused(REQUEST), 'malformed');
    assert.equal(refused(LOGOUT.replace('</saml:Issuer>', '</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>')), 'bad_signature');
    assert.equal(refused(LOGOUT.replace(/<saml:NameID[^]*<\/saml:NameID>/, '<saml:EncryptedID/>')), 'malformed');
  });
});

describe('readAuthnRequest', () => {
  it('reads the fields that decide the answer', () => {
    const r = readAuthnRequest(REQUEST.replace('Version="2.0"', 'Version="2.0" ForceAuthn="true" IsPassive="false"'));
    assert.ok(r.ok);
    assert.equal(r.fields.id, '_r1');
    assert.equal(r.fields.issuer, 'https://sp');
    assert.equal(r.fields.acsUrl, 'https://sp/acs');
    assert.equal(r.fields.forceAuthn, true);
    assert.equal(r.fields.isPassive, false);
    assert.equal(r.fields.signature, null);
  });
  it('refuses another root element', () => {
    assert.equal(readAuthnRequest('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x"/>').ok, false);
  });
  it('refuses a duplicated ID (wrapping)', () => {
    const r = readAuthnRequest(REQUEST.replace('</samlp:AuthnRequest>', '<samlp:Extensions><x ID="_r1" xmlns="urn:x"/></samlp:Extensions></samlp:AuthnRequest>'));
    assert.equal(r.ok === false && r.reason, 'bad_signature');
  });
  const sig = (ref: string, alg = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256') =>
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="${alg}"/><ds:Reference URI="${ref}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>x</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>x</ds:SignatureValue></ds:Signature>`;
  it('accepts a signature that is a direct child of the root and references its ID', () => {
    const r = readAuthnRequest(REQUEST.replace('</saml:Issuer>', `</saml:Issuer>${sig('#_r1')}`));
    assert.ok(r.ok && r.fields.signature);
  });
  it('refuses a signature elsewhere, over another ID, or with RSA-SHA1', () => {
    for (const xml of [
      REQUEST.replace('</saml:Issuer>', `</saml:Issuer><samlp:Extensions>${sig('#_r1')}</samlp:Extensions>`),
      REQUEST.replace('</saml:Issuer>', `</saml:Issuer>${sig('#_other')}`),
      REQUEST.replace('</saml:Issuer>', `</saml:Issuer>${sig('#_r1', 'http://www.w3.org/2000/09/xmldsig#rsa-sha1')}`),
      REQUEST.replace('</saml:Issuer>', `</saml:Issuer>${sig('#_r1')}${sig('#_r1')}`),
    ]) {
      const r = readAuthnRequest(xml);
      assert.equal(r.ok === false && r.reason, 'bad_signature');
    }
  });
});

describe('redirectSignedOctets (SAML bindings §3.4.4.1)', () => {
  it('keeps the URL-encoded values, in the order SAMLRequest, RelayState, SigAlg', () => {
    assert.equal(redirectSignedOctets('SigAlg=a%2Bb&Signature=s&RelayState=r%20s&SAMLRequest=x%3D'), 'SAMLRequest=x%3D&RelayState=r%20s&SigAlg=a%2Bb');
    assert.equal(redirectSignedOctets('SAMLRequest=x&SigAlg=a'), 'SAMLRequest=x&SigAlg=a');
  });
});
