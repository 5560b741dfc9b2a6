import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { Attr, Code, bind, buildAccessRequest, checkReply, createRadiusServer, createUser, udpClient, type UdpClient } from './support.js';

const SECRET = 'flood-secret-0123456789abcd';
const PASSWORD = 'Storm-Shelter-Pass-19';
const FLOOD = 20_000;

/** Hostile datagrams of every shape the packet checks must survive. */
function hostile(i: number): Buffer {
  const valid = buildAccessRequest({ secret: SECRET, userName: 'nina', password: 'guess' });
  switch (i % 10) {
    case 0: // random bytes of random length, some beyond 4096
      return randomBytes(Math.floor(Math.random() * 5000));
    case 1: // truncated header
      return randomBytes(Math.floor(Math.random() * 20));
    case 2: {
      // Length field larger than the datagram
      const b = Buffer.from(valid);
      b.writeUInt16BE(b.length + 1 + Math.floor(Math.random() * 4000), 2);
      return b;
    }
    case 3: {
      // an attribute running past the end
      const b = Buffer.concat([valid, Buffer.from([Attr.UserName, 200, 0x41])]);
      b.writeUInt16BE(b.length, 2);
      return b;
    }
    case 4: {
      // a 0-length (and a 1-length) attribute
      const b = Buffer.concat([valid, Buffer.from([Attr.UserName, i % 2])]);
      b.writeUInt16BE(b.length, 2);
      return b;
    }
    case 5: {
      // huge attribute count: 2038 empty Reply-Message-sized attributes filling 4096 octets
      const attrs = Buffer.alloc(4076);
      for (let o = 0; o < attrs.length; o += 2) attrs[o + 1] = 2;
      const b = Buffer.concat([Buffer.from([Code.AccessRequest, i & 0xff, 0x10, 0x00]), randomBytes(16), attrs]);
      return b;
    }
    case 6: // header length below 20
      return Buffer.concat([Buffer.from([Code.AccessRequest, 1, 0, 4]), randomBytes(40)]);
    case 7: {
      // structurally valid, Message-Authenticator forged (tampered after signing)
      const b = Buffer.from(valid);
      b[b.length - 1]! ^= 0xff;
      return b;
    }
    case 8: // right structure, wrong secret
      return buildAccessRequest({ secret: 'not-the-secret-0123456', userName: 'nina', password: 'x' });
    default: // unknown codes
      return Buffer.concat([Buffer.from([200 + (i % 50), 1, 0, 20]), randomBytes(16)]);
  }
}

describe('RADIUS under a flood of malformed and hostile datagrams', function () {
  this.timeout(120_000);
  let gh: RunningAppliance;
  let nas: UdpClient;
  let stranger: UdpClient;
  let ninaId: string;

  before(async function () {
    gh = await startAppliance();
    await createRadiusServer(gh, { sharedSecret: SECRET });
    ninaId = await createUser(gh, 'nina', PASSWORD);
    await bind(gh, { type: 'user', id: ninaId }, (await gh.appliance.core.radiusServers.list())[0]!.id);
    nas = await udpClient(gh.radiusPort);
    stranger = await udpClient(gh.radiusPort, '127.0.0.1', '127.0.0.2');
  });

  after(async () => {
    await nas?.close();
    await stranger?.close();
    await gh?.stop();
  });

  /** As a NAS does: the kernel may drop a datagram under a flood, so retransmit the same request. */
  const retransmitting = async (req: Buffer): Promise<Buffer | null> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = await nas.exchange(req, 2000);
      if (r) return r;
    }
    return null;
  };

  it(`survives ${FLOOD} datagrams, discards every one of them, and answers a real request meanwhile`, async () => {
    const before = gh.appliance.radius.stats();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    let real: Promise<Buffer | null> | null = null;
    const realReq = buildAccessRequest({ secret: SECRET, userName: 'nina', password: PASSWORD });
    for (let i = 0; i < FLOOD; i += 250) {
      const batch = [];
      for (let k = i; k < Math.min(FLOOD, i + 250); k++) batch.push((k % 3 === 0 ? stranger : nas).send(hostile(k)));
      await Promise.all(batch);
      if (i === FLOOD / 2) real = retransmitting(realReq);
      // The flood and the listener share this process: let the listener drain each batch (as a NIC
      // queue would) so that the kernel does not drop most of it before it is read.
      const target = before.received + Math.min(FLOOD, i + 250) + (real ? 1 : 0);
      for (let spins = 0; spins < 200 && gh.appliance.radius.stats().received < target; spins++) await new Promise((r) => setTimeout(r, 1));
    }
    const reply = await real!;
    assert.ok(reply, 'the real request was not answered during the flood');
    assert.equal(checkReply(realReq, reply, SECRET).code, Code.AccessAccept);
    await new Promise((r) => setTimeout(r, 300));
    loop.disable();

    const after = gh.appliance.radius.stats();
    const discarded = (s: typeof before) => Object.values(s.discarded).reduce((a, b) => a + b, 0);
    const received = after.received - before.received;
    const dropped = discarded(after) - discarded(before);
    // The kernel may drop some datagrams under load; every one that arrived was discarded, except the real one.
    assert.ok(received > FLOOD * 0.9, `only ${received} of ${FLOOD} datagrams arrived`);
    const answeredOrCached = after.accept - before.accept + (after.duplicatesAnswered - before.duplicatesAnswered) + (after.duplicatesDropped - before.duplicatesDropped);
    assert.equal(dropped, received - answeredOrCached, `received ${received}, discarded ${dropped}: ${JSON.stringify(after.discarded)}`);
    assert.equal(after.errors, 0);
    // Retransmissions of the real request were answered from the duplicate cache, not processed again.
    assert.equal(after.accept - before.accept, 1);
    assert.equal((await gh.appliance.store.repos.authState.get(ninaId)).failedCount, 0, 'unauthenticated garbage touched the lockout counter');
    // Nothing in the gate blocks: the loop stayed responsive (lenient bound for a shared CI machine).
    assert.ok(loop.max / 1e6 < 1000, `event loop blocked for ${(loop.max / 1e6).toFixed(0)} ms`);

    // And it still answers afterwards.
    const next = buildAccessRequest({ secret: SECRET, userName: 'nina', password: PASSWORD });
    assert.equal(checkReply(next, (await nas.exchange(next))!, SECRET).code, Code.AccessAccept);
  });
});
