import assert from 'node:assert/strict';
import radius from 'radius';
import { checkRadiusAttribute, encodeReplyAttribute, encodeReplyAttributes } from '../../../src/radius/dictionary.js';

describe('RADIUS reply attribute dictionary and codec', () => {
  const encodes: [string, string, string][] = [
    ['Tunnel-Type', 'VLAN', '40060000000d'],
    ['Tunnel-Type', '13', '40060000000d'],
    ['tunnel-type', 'vlan', '40060000000d'],
    ['Tunnel-Type:1', 'VLAN', '40060100000d'],
    ['Tunnel-Medium-Type', 'IEEE-802', '410600000006'],
    ['Tunnel-Private-Group-Id', '100', '5105313030'],
    ['Tunnel-Private-Group-Id:2', '100', '510602313030'],
    ['Filter-Id', 'staff', '0b077374616666'],
    ['Class', '0xdeadbeef', '1906deadbeef'],
    ['Class', 'gold', '1906676f6c64'],
    ['Session-Timeout', '3600', '1b0600000e10'],
    ['Service-Type', 'Administrative-User', '060600000006'],
    ['Framed-IP-Address', '192.0.2.7', '0806c0000207'],
    ['Cisco-AVPair', 'shell:priv-lvl=15', '1a190000000901137368656c6c3a707269762d6c766c3d3135'],
    ['Aruba-User-Vlan', '42', '1a0c000039e702060000002a'],
    ['PaloAlto-Admin-Role', 'superuser', '1a1100006375010b' + Buffer.from('superuser').toString('hex')],
  ];
  for (const [name, value, hex] of encodes) {
    it(`encodes ${name} = ${value}`, () => {
      assert.equal(checkRadiusAttribute({ name, value }), null);
      assert.equal(encodeReplyAttribute({ name, value }).toString('hex'), hex);
    });
  }

  const refuses: [string, string, RegExp][] = [
    ['Tunnel-Private-Group-Idd', '1', /not in the RADIUS dictionary/],
    ['Session-Timeout', 'one hour', /Session-Timeout must be a number/],
    ['Session-Timeout', '1.5', /must be a number/],
    ['Session-Timeout', '4294967296', /must be a number/],
    ['Tunnel-Type', 'VLANX', /Tunnel-Type must be a number .* or one of .*vlan/i],
    ['Framed-IP-Address', '300.1.1.1', /IPv4 address/],
    ['User-Password', 'x', /cannot be configured/],
    ['Message-Authenticator', 'x', /cannot be configured/],
    ['State', 'x', /cannot be configured/],
    ['Proxy-State', 'x', /cannot be configured/],
    ['Vendor-Specific', 'x', /cannot be configured/],
    ['Tunnel-Password', 'x', /encrypted attribute/],
    ['Filter-Id:1', 'x', /takes no tag/],
    ['Tunnel-Type:32', 'VLAN', /tag must be from 1 to 31/],
    ['Filter-Id', 'x'.repeat(254), /at most 253 octets/],
    ['Cisco-AVPair', 'x'.repeat(248), /at most 247 octets/],
    ['Filter-Id', '', /needs a value/],
    ['1Bad', 'x', /not a RADIUS attribute name/],
  ];
  for (const [name, value, message] of refuses) {
    it(`refuses ${name} = ${value.length > 20 ? value.slice(0, 10) + '…' : JSON.stringify(value)}`, () => {
      assert.match(checkRadiusAttribute({ name, value }) ?? '(accepted)', message);
    });
  }

  it('fills a Vendor-Specific to the 255-octet attribute limit (RFC 2865 §5.26)', () => {
    const b = encodeReplyAttribute({ name: 'Cisco-AVPair', value: 'x'.repeat(247) });
    assert.equal(b.length, 255);
    assert.equal(b[1], 255);
  });

  it('produces bytes the radius package decodes back to the same values', () => {
    const attrs = encodeReplyAttributes(
      [
        { name: 'Tunnel-Type', value: 'VLAN' },
        { name: 'Tunnel-Private-Group-Id', value: '300' },
        { name: 'Session-Timeout', value: '60' },
        { name: 'Cisco-AVPair', value: 'a=b' },
      ],
      () => assert.fail('skipped'),
    );
    const pkt = Buffer.concat([Buffer.from([2, 1, 0, 0]), Buffer.alloc(16), attrs]);
    pkt.writeUInt16BE(pkt.length, 2);
    const d = radius.decode_without_secret({ packet: pkt }).attributes;
    assert.deepEqual(d['Tunnel-Type'], [0, 'VLAN']);
    assert.equal(d['Tunnel-Private-Group-Id'], '300');
    assert.equal(d['Session-Timeout'], 60);
    assert.deepEqual(d['Vendor-Specific'], { 'Cisco-AVPair': 'a=b' });
  });

  it('leaves out an attribute that no longer encodes and reports it', () => {
    const skipped: string[] = [];
    const out = encodeReplyAttributes([{ name: 'Filter-Id', value: 'a' }, { name: 'Gone-Attribute', value: 'x' }], (a) => skipped.push(a.name));
    assert.equal(out.toString('hex'), '0b0361');
    assert.deepEqual(skipped, ['Gone-Attribute']);
  });
});
