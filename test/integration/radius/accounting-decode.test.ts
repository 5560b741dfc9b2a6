import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { Code, checkReply, createRadiusServer, radiusEvents, udpClient, type UdpClient } from './support.js';

const SECRET = 'accounting-decode-secret-0123456789';

/** An Accounting-Request built byte by byte, so that it can carry malformed attributes (RFC 2866 §3). */
function rawAccountingRequest(attrs: [number, Buffer][]): Buffer {
  const body = attrs.map(([type, value]) => Buffer.concat([Buffer.from([type, 2 + value.length]), value]));
  const pkt = Buffer.concat([Buffer.from([Code.AccountingRequest, randomBytes(1)[0]!, 0, 0]), Buffer.alloc(16), ...body]);
  pkt.writeUInt16BE(pkt.length, 2);
  createHash('md5').update(pkt).update(SECRET).digest().copy(pkt, 4);
  return pkt;
}

const str = (s: string) => Buffer.from(s);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('RADIUS accounting: one malformed attribute leaves only its own field out (RFC 6929 §2.8)', function () {
  let gh: RunningAppliance;
  let nas: UdpClient;

  before(async () => {
    gh = await startAppliance();
    await createRadiusServer(gh, { sharedSecret: SECRET });
    nas = await udpClient(gh.radiusAccountingPort);
  });

  after(async () => {
    await nas?.close();
    await gh?.stop();
  });

  /** Sends, checks the Accounting-Response, and returns the event of that session. */
  const exchange = async (req: Buffer, session: string) => {
    const raw = await nas.exchange(req);
    assert.ok(raw, 'no Accounting-Response');
    const r = checkReply(req, raw, SECRET);
    assert.equal(r.code, Code.AccountingResponse);
    assert.ok(r.responseAuthenticatorValid);
    const events = await radiusEvents(gh, 'radius_accounting');
    const e = events.find((x) => x.acct_session_id === session);
    assert.ok(e, `no event for session ${session}: ${JSON.stringify(events)}`);
    return e;
  };

  it('keeps User-Name, Acct-Status-Type and Acct-Session-Id next to a Vendor-Specific not in sub-attribute form', async () => {
    const req = rawAccountingRequest([
      [1, str('alice')],
      [40, u32(1)],
      [44, str('sess-vsa')],
      // Vendor 9 followed by one octet: not the RFC 2865 §5.26 sub-attribute form.
      [26, Buffer.from([0, 0, 0, 9, 0x41])],
    ]);
    const e = await exchange(req, 'sess-vsa');
    assert.equal(e.username, 'alice');
    assert.equal(e.acct_status_type, 'Start');
  });

  it('leaves out only a malformed attribute (a Framed-IP-Address of 2 octets), and keeps the rest', async () => {
    const req = rawAccountingRequest([
      [1, str('alice')],
      [40, u32(2)],
      [44, str('sess-short-ip')],
      [46, u32(90)],
      [8, Buffer.from([192, 0])],
    ]);
    const e = await exchange(req, 'sess-short-ip');
    assert.equal(e.username, 'alice');
    assert.equal(e.acct_status_type, 'Stop');
    assert.equal(e.acct_session_time, 90);
    assert.ok(!('framed_ip' in e), JSON.stringify(e));
  });

  it('answers nothing and records nothing without a well-formed Acct-Status-Type (RFC 2866 §5.1: it MUST be there; §2: no answer for what is not recorded)', async () => {
    for (const [session, status] of [
      ['sess-no-status', null],
      ['sess-short-status', Buffer.from([0, 2])],
    ] as const) {
      const req = rawAccountingRequest([[1, str('alice')], ...(status ? [[40, status] as [number, Buffer]] : []), [44, str(session)]]);
      assert.equal(await nas.exchange(req, 500), null, session);
      assert.ok(!(await radiusEvents(gh, 'radius_accounting')).some((x) => x.acct_session_id === session));
    }
  });
});
