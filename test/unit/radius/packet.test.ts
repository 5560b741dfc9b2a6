import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import radius from 'radius';
import {
  Attr,
  Code,
  decodeUserPassword,
  encodeAttribute,
  encodeReply,
  encodeUserPassword,
  parsePacket,
  verifyAccountingAuthenticator,
  verifyMessageAuthenticator,
  type RadiusPacket,
} from '../../../src/radius/packet.js';
import { attributeDef } from '../../../src/radius/dictionary.js';

const SECRET = Buffer.from('unit-test-secret-0123');

/** Builds a packet by hand: header + the given attribute bytes; `length` overrides the Length field. */
function packet(attrs: number[], opts: { code?: number; length?: number; trailing?: number } = {}): Buffer {
  const body = Buffer.from(attrs);
  const b = Buffer.concat([Buffer.from([opts.code ?? Code.AccessRequest, 7, 0, 0]), Buffer.alloc(16, 0xab), body, Buffer.alloc(opts.trailing ?? 0, 0xee)]);
  b.writeUInt16BE(opts.length ?? 20 + body.length, 2);
  return b;
}

/** Signs a request's Message-Authenticator the way a client does (RFC 3579 §3.2). */
function sign(b: Buffer, maOffset: number, secret = SECRET): Buffer {
  b.fill(0, maOffset, maOffset + 16);
  createHmac('md5', secret).update(b.subarray(0, b.readUInt16BE(2))).digest().copy(b, maOffset);
  return b;
}

const MA = [Attr.MessageAuthenticator, 18, ...Array<number>(16).fill(0)];

describe('RADIUS packet decoding (RFC 2865 §3, §5)', () => {
  const cases: [string, Buffer, string | number][] = [
    ['a header alone (20 octets)', packet([]), 0],
    ['one attribute', packet([Attr.UserName, 5, 0x61, 0x62, 0x63]), 1],
    ['two attributes and a Message-Authenticator', packet([Attr.UserName, 3, 0x61, Attr.NasPort, 6, 0, 0, 0, 1, ...MA]), 3],
    ['octets after Length (ignored as padding)', packet([Attr.UserName, 3, 0x61], { trailing: 9 }), 1],
    ['19 octets', Buffer.alloc(19), 'too_short'],
    ['an empty datagram', Buffer.alloc(0), 'too_short'],
    ['Length below 20', packet([], { length: 19 }), 'bad_length'],
    ['Length beyond the datagram', packet([Attr.UserName, 3, 0x61], { length: 30 }), 'bad_length'],
    ['Length above 4096', Buffer.concat([packet([], { length: 4097 }), Buffer.alloc(4077)]), 'bad_length'],
    ['an attribute of length 0', packet([Attr.UserName, 0]), 'bad_attribute'],
    ['an attribute of length 1', packet([Attr.UserName, 1]), 'bad_attribute'],
    ['an attribute running past the end', packet([Attr.UserName, 10, 0x61]), 'bad_attribute'],
    ['a lone type octet at the end', packet([Attr.UserName, 3, 0x61, Attr.State]), 'bad_attribute'],
    ['attributes shorter than Length (Length counts trailing octets)', packet([Attr.UserName, 3, 0x61], { length: 24, trailing: 1 }), 'bad_attribute'],
    ['a Message-Authenticator of length 10', packet([Attr.MessageAuthenticator, 10, 1, 2, 3, 4, 5, 6, 7, 8]), 'bad_message_authenticator_attribute'],
    ['two Message-Authenticators', packet([...MA, ...MA]), 'bad_message_authenticator_attribute'],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`${typeof expected === 'number' ? 'accepts' : 'refuses'} ${name}`, () => {
      const p = parsePacket(bytes);
      if (typeof expected === 'string') assert.equal(p, expected);
      else {
        assert.notEqual(typeof p, 'string', `refused: ${String(p)}`);
        assert.equal((p as RadiusPacket).attributes.length, expected);
        assert.equal((p as RadiusPacket).raw.length, bytes.readUInt16BE(2));
      }
    });
  }

  it('never throws on random bytes, and what it accepts fills its Length exactly (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4200 }), (bytes) => {
        const p = parsePacket(Buffer.from(bytes));
        if (typeof p === 'string') return true;
        const total = p.attributes.reduce((n, a) => n + a.value.length + 2, 20);
        assert.equal(total, p.raw.length);
        assert.ok(p.raw.length >= 20 && p.raw.length <= 4096);
        return true;
      }),
      { numRuns: 3000 },
    );
  });

  it('drops random datagrams: none passes the Message-Authenticator check (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 300 }), fc.boolean(), (bytes, withMa) => {
        // Give the random bytes a consistent header and, half of the time, a (random) Message-Authenticator.
        const body = Buffer.from(bytes);
        const b = withMa ? Buffer.concat([body.subarray(0, 20), Buffer.from([Attr.MessageAuthenticator, 18]), randomBytes(16)]) : body;
        b[0] = Code.AccessRequest;
        b.writeUInt16BE(b.length, 2);
        const p = parsePacket(b);
        if (typeof p === 'string') return true;
        assert.equal(verifyMessageAuthenticator(p, SECRET), false);
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('Message-Authenticator (RFC 3579 §3.2)', () => {
  it('verifies a request signed with the shared secret, wherever the attribute sits', () => {
    for (const attrs of [[...MA, Attr.UserName, 3, 0x61], [Attr.UserName, 3, 0x61, ...MA]]) {
      const b = packet(attrs);
      const off = attrs[0] === Attr.MessageAuthenticator ? 22 : 25;
      const p = parsePacket(sign(b, off));
      assert.ok(typeof p !== 'string');
      assert.equal(verifyMessageAuthenticator(p, SECRET), true);
      assert.equal(verifyMessageAuthenticator(p, Buffer.from('another-secret')), false);
    }
  });

  it('fails a request whose bytes were changed after signing, and one without the attribute', () => {
    const b = sign(packet([Attr.UserName, 3, 0x61, ...MA]), 25);
    b[22] = 0x62; // User-Name a → b
    assert.equal(verifyMessageAuthenticator(parsePacket(b) as RadiusPacket, SECRET), false);
    assert.equal(verifyMessageAuthenticator(parsePacket(packet([Attr.UserName, 3, 0x61])) as RadiusPacket, SECRET), false);
  });

  it('verifies an Accounting-Request Message-Authenticator computed over a zero authenticator', () => {
    const b = packet([...MA], { code: Code.AccountingRequest });
    b.fill(0, 4, 20);
    sign(b, 22);
    createHash('md5').update(b).update(SECRET).digest().copy(b, 4);
    const p = parsePacket(b) as RadiusPacket;
    assert.equal(verifyAccountingAuthenticator(p, SECRET), true);
    assert.equal(verifyMessageAuthenticator(p, SECRET, true), true);
  });
});

describe('reply encoding (RFC 2865 §3, BlastRADIUS)', () => {
  const request = sign(packet([Attr.UserName, 3, 0x61, Attr.ProxyState, 5, 1, 2, 3, Attr.ProxyState, 3, 9, ...MA]), 33);
  const req = parsePacket(request) as RadiusPacket;
  const attrs = Buffer.concat([encodeAttribute(Attr.ReplyMessage, Buffer.from('hi')), encodeAttribute(Attr.State, Buffer.from('abc'))]);

  for (const code of [Code.AccessAccept, Code.AccessReject, Code.AccessChallenge]) {
    it(`puts a valid Message-Authenticator first in code ${code}, then a valid Response Authenticator`, () => {
      const out = encodeReply({ code, identifier: 7, requestAuthenticator: req.authenticator, attributes: attrs, proxyStates: [Buffer.from([1, 2, 3]), Buffer.from([9])], secret: SECRET, messageAuthenticator: true })!;
      assert.equal(out[0], code);
      assert.equal(out[1], 7);
      assert.equal(out.readUInt16BE(2), out.length);
      assert.equal(out[20], Attr.MessageAuthenticator, 'first attribute');
      assert.equal(out[21], 18);
      // Message-Authenticator: HMAC-MD5 over the reply with the Request Authenticator and a zero MA.
      const z = Buffer.from(out);
      req.authenticator.copy(z, 4);
      z.fill(0, 22, 38);
      assert.ok(createHmac('md5', SECRET).update(z).digest().equals(out.subarray(22, 38)));
      // Response Authenticator: MD5(Code+ID+Length+RequestAuth+Attributes+Secret), over the final MA.
      const r = Buffer.from(out);
      req.authenticator.copy(r, 4);
      assert.ok(createHash('md5').update(r).update(SECRET).digest().equals(out.subarray(4, 20)));
      // Proxy-State copied in order, after our attributes (RFC 2865 §5.33).
      const p = parsePacket(out) as RadiusPacket;
      assert.deepEqual(p.attributes.map((a) => a.type), [Attr.MessageAuthenticator, Attr.ReplyMessage, Attr.State, Attr.ProxyState, Attr.ProxyState]);
      // The `radius` package, an independent implementation, agrees.
      assert.equal(radius.verify_response({ request: Buffer.from(request), response: Buffer.from(out), secret: SECRET.toString() }), true);
    });
  }

  it('refuses to build a reply over 4096 octets', () => {
    const big = Buffer.concat(Array.from({ length: 17 }, () => encodeAttribute(Attr.ReplyMessage, Buffer.alloc(240, 0x41))));
    assert.equal(encodeReply({ code: 2, identifier: 1, requestAuthenticator: req.authenticator, attributes: big, proxyStates: [], secret: SECRET, messageAuthenticator: true }), null);
  });
});

describe('User-Password hiding (RFC 2865 §5.2)', () => {
  const auth = Buffer.from('0123456789abcdef');
  for (const len of [1, 15, 16, 17, 31, 32, 100, 127, 128]) {
    it(`round-trips a ${len}-octet password`, () => {
      const pw = Buffer.alloc(len, 0).map((_, i) => 0x21 + ((i * 7) % 90));
      const hidden = encodeUserPassword(Buffer.from(pw), SECRET, auth);
      assert.equal(hidden.length, Math.max(16, Math.ceil(len / 16) * 16));
      assert.deepEqual(decodeUserPassword(hidden, SECRET, auth), Buffer.from(pw));
      // The package's codec (an independent implementation) hides it to the same bytes.
      const enc = radius.encode({ code: 'Access-Request', identifier: 1, authenticator: auth, secret: SECRET.toString(), attributes: [['User-Password', Buffer.from(pw).toString()]] });
      const p = parsePacket(enc) as RadiusPacket;
      assert.deepEqual(p.attributes[0]!.value, hidden);
    });
  }

  it('refuses hidden passwords that are not 16–128 octets in blocks of 16', () => {
    for (const len of [0, 8, 15, 17, 33, 144]) assert.equal(decodeUserPassword(Buffer.alloc(len, 1), SECRET, auth), null, `${len}`);
    assert.throws(() => encodeUserPassword(Buffer.alloc(129, 0x41), SECRET, auth), RangeError);
  });

  it('stops at the first NUL, as FreeRADIUS does', () => {
    const hidden = encodeUserPassword(Buffer.from('abc\0def'), SECRET, auth);
    assert.equal(decodeUserPassword(hidden, SECRET, auth)?.toString(), 'abc');
  });

  it('is keyed by the secret: another secret yields another password', () => {
    const hidden = encodeUserPassword(Buffer.from('password'), SECRET, auth);
    assert.notEqual(decodeUserPassword(hidden, Buffer.from('x'), auth)?.toString(), 'password');
    assert.ok(attributeDef('User-Password'));
  });
});
