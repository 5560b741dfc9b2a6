import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { LdapConnection, QueuedBytesBudget } from '../../../src/ldap/connection.js';
import { createTree } from '../../../src/ldap/tree.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { berInt, berString, ldapMessage, presentFilter, RawConnection, readResponses, searchRequest, seedDirectory, simpleBindRequest, tlv, type Directory } from './support.js';

const START_TLS = '1.3.6.1.4.1.1466.20037';
const WHO_AM_I = '1.3.6.1.4.1.4203.1.11.3';
const extendedRequest = (name: string) => tlv(0x77, berString(name, 0x80));

/**
 * A client connection whose peer does not read: each write stays unacknowledged until `release()`,
 * so the connection's answer waits for 'drain', as when a man in the middle stalls the TCP stream.
 */
class StalledSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly written: Buffer[] = [];
  private held: (() => void)[] = [];
  constructor() {
    super({ writableHighWaterMark: 16 });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.written.push(chunk);
    this.held.push(done);
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  release(): void {
    for (const done of this.held.splice(0)) done();
  }
}

/**
 * StartTLS command injection (the CVE-2011-0411 class, RFC 4511 §4.14.1): requests a man in the
 * middle sends in the clear while the StartTLS answer waits for the peer to read must never run,
 * neither in the clear nor inside the TLS session that follows (they would count as sent over TLS,
 * past `requireTls`). Driven on a connection whose writes stall on purpose; a real client cannot
 * time this without filling the kernel's buffers (the black-box probe that found it did).
 */
describe('LDAP StartTLS, Abandon and WhoAmI: what may not be skipped, injected or added', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let dir: Directory;

  before(async () => {
    gh = await startAppliance();
    dir = await seedDirectory(gh);
  });
  after(async () => gh?.stop());

  /** A connection of the running appliance whose peer reads only when the test says so. */
  const stalledConnection = () => {
    const a = gh.appliance;
    const socket = new StalledSocket();
    const conn = new LdapConnection(
      socket as unknown as Socket,
      {
        auth: a.core.auth,
        directory: a.core.ldapDirectory,
        users: a.core.users,
        audit: a.core.audit,
        organization: () => a.core.organization.get(),
        log: a.log,
        config: a.config.ldap,
        version: 'test',
      },
      () => createTree(dir.orgId, a.config.ldap.suffix),
      () => createSecureContext({ key: a.tls.keyPem, cert: a.tls.certPem }),
      false,
      () => undefined,
      new QueuedBytesBudget(1 << 20),
    );
    return { socket, conn };
  };
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), what);
  };

  it('does not run a bind and a WhoAmI that arrive while the StartTLS answer is held up', async () => {
    const a = gh.appliance;
    const since = new Date().toISOString();
    const { socket, conn } = stalledConnection();
    socket.push(ldapMessage(1, extendedRequest(START_TLS)));
    // The StartTLS answer is written and waits for the peer to read it.
    await until('the StartTLS answer was written', () => socket.written.length > 0);
    // The injection: a bind as bob and a WhoAmI, in the clear, before the peer has read the answer.
    socket.push(Buffer.concat([ldapMessage(2, simpleBindRequest(`uid=bob,ou=Users,${dir.base}`, 'Build-It-9876x')), ldapMessage(3, extendedRequest(WHO_AM_I))]));
    await new Promise((r) => setTimeout(r, 200));
    socket.release();
    await new Promise((r) => setTimeout(r, 500));

    const clear = readResponses(Buffer.concat(socket.written));
    assert.equal(clear.responses[0]?.messageId, 1);
    assert.equal(clear.responses[0]?.code, 0, 'StartTLS accepted');
    assert.equal(clear.responses.length, 1, 'nothing else was answered in the clear');
    assert.equal(conn.session.principal.kind, 'anonymous', 'the injected bind did not run');
    await a.core.audit.flush();
    const binds = (await gh.api('POST', '/insights/directory/v1/events', { service: ['ldap'], start_time: since })).body.filter((e: { event_type: string }) => e.event_type === 'ldap_bind');
    assert.deepEqual(binds, [], 'no bind was attempted');
    socket.destroy();
  });

  it('answers a Bind and a StartTLS that a pipelined Abandon names: they cannot be abandoned (RFC 4511 §4.11)', async () => {
    const abandon = (id: number) => berInt(id, 0x50);
    const c = new RawConnection(gh.endpoints.ldap!.port);
    await c.connected;
    c.write(Buffer.concat([ldapMessage(1, simpleBindRequest(`uid=bob,ou=Users,${dir.base}`, 'Build-It-9876x')), ldapMessage(2, abandon(1)), ldapMessage(3, extendedRequest(WHO_AM_I))]));
    const rs = await c.waitFor((r) => r.some((x) => x.messageId === 3));
    assert.equal(rs.find((x) => x.messageId === 1)?.code, 0, 'the bind was answered, and succeeded');
    assert.match(rs.find((x) => x.messageId === 3)?.body.toString('latin1') ?? '', /dn:uid=bob/);
    c.write(Buffer.concat([ldapMessage(4, extendedRequest(START_TLS)), ldapMessage(5, abandon(4))]));
    const after = await c.waitFor((r) => r.some((x) => x.messageId === 4));
    assert.ok(after.some((x) => x.messageId === 4), 'StartTLS was answered');
    c.destroy();
  });

  it('stops a search that is being answered when the client abandons it: no more entries, no SearchResultDone (RFC 4511 §4.11)', async () => {
    const a = gh.appliance;
    const since = new Date().toISOString();
    const { socket } = stalledConnection();
    const answers = () => readResponses(Buffer.concat(socket.written)).responses;
    socket.push(ldapMessage(1, simpleBindRequest(`uid=binder,ou=Users,${dir.base}`, 'Gate-Keeper-41x')));
    await until('the bind was answered', () => answers().length === 1);
    socket.release();
    // Every entry of the subtree: the first one's write waits for the peer, which does not read.
    socket.push(ldapMessage(2, searchRequest(dir.base, 2, presentFilter('objectClass'))));
    await until('the first entry was written', () => answers().length === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(answers().length, 2, 'the search waits for the peer to read');
    socket.push(ldapMessage(3, berInt(2, 0x50)));
    await new Promise((r) => setTimeout(r, 100));
    socket.release();
    socket.push(ldapMessage(4, extendedRequest(WHO_AM_I)));
    await until('the WhoAmI after the abandon was answered', () => answers().some((r) => r.messageId === 4));
    socket.release();
    const rs = answers();
    assert.equal(rs.filter((r) => r.messageId === 2).length, 1, `one entry and nothing more of the abandoned search: ${rs.map((r) => `${r.messageId}/${r.op.toString(16)}`).join(' ')}`);
    assert.equal(rs.find((r) => r.messageId === 2)?.op, 0x64, 'an entry');
    assert.match(rs.find((r) => r.messageId === 4)?.body.toString('latin1') ?? '', /dn:uid=binder/, 'the connection goes on, still bound');
    await a.core.audit.flush();
    const searches = (await gh.api('POST', '/insights/directory/v1/events', { service: ['ldap'], start_time: since })).body.filter((e: { event_type: string }) => e.event_type === 'ldap_search');
    assert.equal(searches.length, 1);
    assert.equal(searches[0].result_code, 118, 'recorded as canceled');
    assert.equal(searches[0].error_message, 'abandoned by the client');
    assert.equal(searches[0].number_of_results, 1);
    socket.destroy();
  });

  it('answers a WhoAmI that carries a request value with protocolError (RFC 4532 §2), and one without normally', async () => {
    const c = new RawConnection(gh.endpoints.ldap!.port);
    await c.connected;
    c.write(Buffer.concat([ldapMessage(1, tlv(0x77, berString(WHO_AM_I, 0x80), berString('x', 0x81))), ldapMessage(2, extendedRequest(WHO_AM_I))]));
    const rs = await c.waitFor((r) => r.some((x) => x.messageId === 2));
    assert.equal(rs.find((x) => x.messageId === 1)?.code, 2);
    assert.equal(rs.find((x) => x.messageId === 2)?.code, 0);
    c.destroy();
  });
});
