import assert from 'node:assert/strict';
import type { AuthPipeline } from '../../../src/core/auth/authenticate.js';
import type { LdapDirectory, LdapPrincipal } from '../../../src/core/directory/ldap-directory.js';
import type { Organization } from '../../../src/core/directory/organization.js';
import type { LdapConfig, LdapDeps } from '../../../src/ldap/context.js';
import type { LdapReadLimits } from '../../../src/ldap/connection.js';
import { createLdapServer, type LdapServer } from '../../../src/ldap/server.js';
import { clientKey } from '../../../src/util/client-key.js';
import { createSelfSignedCertificate } from '../../../src/util/certificates.js';
import { makeLdapServer, makeUser } from '../../helpers/factories.js';
import {
  RawConnection,
  berString,
  isNoticeOfDisconnection,
  ldapMessage,
  presentFilter,
  searchRequest,
  simpleBindRequest,
  tlv,
  type RawResponse,
} from '../../integration/ldap/support.js';

const ORG = '0123456789abcdef01234567';
const SUFFIX = 'dc=gatehouse,dc=local';
const USERS = `ou=Users,o=${ORG},${SUFFIX}`;
const PASSWORD = 'right-password-1';
const KIB = 1024;
const MIB = 1024 * KIB;

const BIND_RESPONSE = 0x61;
const SEARCH_DONE = 0x65;
const COMPARE_RESPONSE = 0x6f;
const PROTOCOL_ERROR = 2;

/** CompareRequest (RFC 4511 §4.10) of `uid=<user>`'s description against `value`. */
const compareRequest = (user: string, value: string) => tlv(0x6e, berString(`uid=${user},${USERS}`), tlv(0x30, berString('description'), berString(value)));

/** A compare whose whole LDAPMessage is exactly `total` bytes (the assertion value pads it). */
function compareOfSize(id: number, total: number): Buffer {
  for (let n = total - 60; n > 0; n--) {
    const m = ldapMessage(id, compareRequest('alice', 'x'.repeat(n)));
    if (m.length === total) return m;
    if (m.length < total) break;
  }
  throw new Error(`cannot pad a compare to ${total} bytes`);
}

/** A Root DSE search whose whole LDAPMessage is exactly `total` bytes (one long attribute name pads it). */
function rootDseSearchOfSize(id: number, total: number): Buffer {
  for (let n = total - 40; n > 0; n--) {
    const m = ldapMessage(id, searchRequest('', 0, presentFilter('objectClass'), ['a'.repeat(n)]));
    if (m.length === total) return m;
    if (m.length < total) break;
  }
  throw new Error(`cannot pad a search to ${total} bytes`);
}

/**
 * The LDAP adapter alone over loopback, with core faked: binds with PASSWORD succeed, and directory
 * reads (what a compare does) wait on a gate the test opens, so that requests pile up as they would
 * behind a slow store.
 */
class Harness {
  server!: LdapServer;
  port = 0;
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;
  private readonly raws: RawConnection[] = [];

  constructor(private readonly limits: Partial<LdapConfig & LdapReadLimits>) {}

  async start(): Promise<void> {
    const user = makeUser({ username: 'alice', ldapBindingUser: true });
    const auth: Pick<AuthPipeline, 'authenticate'> = {
      authenticate: async (req) => (req.password === PASSWORD ? { status: 'ok', user } : { status: 'invalid' }) as Awaited<ReturnType<AuthPipeline['authenticate']>>,
    };
    const directory: Partial<LdapDirectory> = {
      resource: async () => ({ type: 'ldap_server', id: makeLdapServer().id }) as Awaited<ReturnType<LdapDirectory['resource']>>,
      current: async (p: LdapPrincipal) => p,
      currentKept: (p: LdapPrincipal) => p,
      warmUserIndex: () => undefined,
      // Nothing kept: every search reaches `users`.
      derivedCache: () => null,
      canRead: (p: LdapPrincipal) => p.kind === 'user',
      canSearchDirectory: (p: LdapPrincipal) => p.kind === 'user',
      users: async () => {
        await this.gate;
        return { total: 0, items: [] };
      },
    };
    const config: LdapConfig = {
      suffix: SUFFIX,
      requireTls: false,
      maxConnections: 100,
      maxConnectionsPerIp: 100,
      maxPduBytes: 256 * KIB,
      maxOutstandingPerConnection: 32,
      idleTimeoutSeconds: 60,
      operationTimeoutSeconds: 30,
      maxSizeLimit: 100,
      maxPageSize: 100,
      totpSeparator: ';',
      homeDirectoryPrefix: '/home/',
      loginShell: '/bin/bash',
      maxPduBytesBeforeBind: 16 * KIB,
      maxQueuedBytesPerConnection: 1024 * KIB,
      maxQueuedBytesTotal: 64 * 1024 * KIB,
      unboundIdleTimeoutSeconds: 30,
      ...this.limits,
    };
    const org = { id: ORG, displayName: 'Org', createdAt: new Date(0) } as Organization;
    const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const deps = {
      auth,
      directory,
      users: { setPassword: async () => undefined },
      audit: { record: () => undefined, recordUnauthenticated: () => undefined, recordPerSubject: () => undefined },
      organization: async () => org,
      log: silent,
      config,
      version: 'test',
    } as unknown as LdapDeps;
    const tls = await createSelfSignedCertificate({ commonName: 'localhost', days: 1 });
    this.server = createLdapServer(deps, { host: '127.0.0.1', port: 0, ldapsPort: 0, tls });
    this.port = (await this.server.start()).port;
  }

  /** Directory reads wait until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate();
  }

  async connect(opts: { read?: boolean } = {}): Promise<RawConnection> {
    const c = new RawConnection(this.port, opts);
    this.raws.push(c);
    await c.connected;
    return c;
  }

  /** A connection bound as alice (its bind answered before it returns). */
  async bound(): Promise<RawConnection> {
    const c = await this.connect();
    c.write(ldapMessage(1, simpleBindRequest(`uid=alice,${USERS}`, PASSWORD)));
    const rs = await c.waitFor((x) => x.some((r) => r.op === BIND_RESPONSE), 5000);
    assert.equal(rs.find((r) => r.op === BIND_RESPONSE)?.code, 0, 'bind succeeds');
    return c;
  }

  async stop(): Promise<void> {
    this.release();
    for (const c of this.raws.splice(0)) c.destroy();
    await this.server?.stop();
  }
}

/** Samples the server's accounting every few milliseconds until `done` resolves. */
async function sampleWhile<T>(server: LdapServer, done: Promise<T>): Promise<{ maxQueued: number; maxPaused: number }> {
  let finished = false;
  void done.finally(() => (finished = true));
  let maxQueued = 0;
  let maxPaused = 0;
  while (!finished) {
    const s = server.stats();
    maxQueued = Math.max(maxQueued, s.queuedBytes);
    maxPaused = Math.max(maxPaused, s.pausedConnections);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { maxQueued, maxPaused };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Read-side limits of the LDAP connection (security.md item 1: no pre-authentication input stalls
 * the process or grows memory without bound): bytes held per connection and in total, a small PDU
 * limit before a bind, a short idle timeout for anonymous connections, and per-/64 counting of
 * IPv6 clients.
 */
describe('LDAP connection hardening (src/ldap/connection.ts, server.ts)', function () {
  this.timeout(30_000);

  describe('queued bytes', () => {
    const PDU = 200 * KIB;
    const PER_CONNECTION = 20;
    let h: Harness;

    afterEach(async () => h?.stop());

    it('keeps the bytes held by all connections near the global budget while big requests pile up, and answers them all once they can run', async () => {
      const budget = 2 * MIB;
      const maxPdu = 256 * KIB;
      h = new Harness({ maxPduBytes: maxPdu, maxQueuedBytesPerConnection: 1 * MIB, maxQueuedBytesTotal: budget });
      await h.start();
      const conns = await Promise.all(Array.from({ length: 4 }, () => h.bound()));
      h.hold();
      for (const c of conns) c.write(Buffer.concat(Array.from({ length: PER_CONNECTION }, (_, i) => compareOfSize(i + 2, PDU))));
      const settled = wait(1500);
      const { maxQueued, maxPaused } = await sampleWhile(h.server, settled);
      const peak = h.server.stats().peakQueuedBytes;
      const written = conns.length * PER_CONNECTION * PDU;
      // Each connection may read one more PDU after the budget is reached (it checks after each read).
      const bound = budget + conns.length * maxPdu;
      assert.ok(maxQueued >= budget * 0.5, `requests piled up (${maxQueued} bytes held at most), so the limit was exercised`);
      assert.ok(peak <= bound, `at most ${bound} bytes held, got ${peak} (of ${written} written)`);
      assert.ok(maxPaused >= 1, 'connections stopped being read');

      h.release();
      const all = await Promise.all(conns.map((c) => c.waitFor((x) => x.filter((r) => r.op === COMPARE_RESPONSE).length >= PER_CONNECTION, 20_000)));
      for (const rs of all) {
        const answers = rs.filter((r) => r.op === COMPARE_RESPONSE);
        assert.equal(answers.length, PER_CONNECTION, 'every request answered');
        assert.deepEqual(
          answers.map((r) => r.messageId),
          Array.from({ length: PER_CONNECTION }, (_, i) => i + 2),
          'in order',
        );
      }
      const after = h.server.stats();
      assert.equal(after.queuedBytes, 0, 'nothing held once all is answered');
      assert.equal(after.pausedConnections, 0, 'every connection is read again');
      assert.ok(after.peakQueuedBytes <= bound);
    });

    it('stops reading one connection at its own byte limit', async () => {
      const perConnection = 1 * MIB;
      h = new Harness({ maxPduBytes: 256 * KIB, maxQueuedBytesPerConnection: perConnection, maxQueuedBytesTotal: 64 * MIB });
      await h.start();
      const c = await h.bound();
      h.hold();
      c.write(Buffer.concat(Array.from({ length: PER_CONNECTION }, (_, i) => compareOfSize(i + 2, PDU))));
      const { maxQueued, maxPaused } = await sampleWhile(h.server, wait(1000));
      assert.equal(maxPaused, 1, 'the connection stopped being read');
      assert.ok(maxQueued >= perConnection, `${maxQueued} bytes held: the limit was reached`);
      assert.ok(h.server.stats().peakQueuedBytes <= perConnection + 256 * KIB, `at most one PDU over the limit: ${h.server.stats().peakQueuedBytes}`);
      h.release();
      const rs = await c.waitFor((x) => x.filter((r) => r.op === COMPARE_RESPONSE).length >= PER_CONNECTION, 20_000);
      assert.equal(rs.filter((r) => r.op === COMPARE_RESPONSE).length, PER_CONNECTION);
      assert.equal(h.server.stats().queuedBytes, 0);
    });

    it('still serves a new client while stalled ones hold the whole budget', async () => {
      h = new Harness({ maxPduBytes: 256 * KIB, maxQueuedBytesPerConnection: 1 * MIB, maxQueuedBytesTotal: 1 * MIB });
      await h.start();
      const stalled = await Promise.all(Array.from({ length: 3 }, () => h.bound()));
      h.hold();
      for (const c of stalled) c.write(Buffer.concat(Array.from({ length: 10 }, (_, i) => compareOfSize(i + 2, PDU))));
      await wait(300);
      assert.ok(h.server.stats().queuedBytes >= 1 * MIB, 'the budget is used up');
      const fresh = await h.bound();
      fresh.write(ldapMessage(2, searchRequest('', 0, presentFilter('objectClass'), ['1.1'])));
      const rs = await fresh.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0, 'a Root DSE search is answered');
      // Closing the stalled connections returns their bytes.
      for (const c of stalled) c.destroy();
      h.release();
      await wait(200);
      assert.equal(h.server.stats().queuedBytes, 0);
    });

    it('returns the bytes of a connection that closes with requests queued', async () => {
      h = new Harness({});
      await h.start();
      const c = await h.bound();
      h.hold();
      c.write(Buffer.concat(Array.from({ length: 5 }, (_, i) => compareOfSize(i + 2, 100 * KIB))));
      await wait(200);
      assert.ok(h.server.stats().queuedBytes >= 100 * KIB);
      c.destroy();
      await wait(200);
      assert.equal(h.server.stats().queuedBytes, 0);
      h.release();
    });
  });

  describe('message size before a bind', () => {
    let h: Harness;

    before(async () => {
      h = new Harness({ maxPduBytes: 256 * KIB, maxPduBytesBeforeBind: 16 * KIB });
      await h.start();
    });

    after(async () => h?.stop());

    it('answers an anonymous PDU of exactly the pre-bind limit', async () => {
      const c = await h.connect();
      c.write(rootDseSearchOfSize(1, 16 * KIB));
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0);
      assert.equal(c.closed, false);
    });

    it('closes an anonymous connection sending one byte more, with a Notice of Disconnection (protocolError)', async () => {
      const c = await h.connect();
      // The header alone announces the size: the rest is never awaited.
      c.write(rootDseSearchOfSize(1, 16 * KIB + 1).subarray(0, 16));
      const rs = await c.waitFor((x) => x.length > 0, 5000);
      assert.ok(isNoticeOfDisconnection(rs[0], PROTOCOL_ERROR), `a Notice of Disconnection: ${c.received.toString('hex').slice(0, 80)}`);
      assert.ok(await c.closesWithin(3000), 'the connection is closed');
    });

    it('applies the pre-bind limit again after a failed bind', async () => {
      const c = await h.bound();
      c.write(ldapMessage(2, simpleBindRequest(`uid=alice,${USERS}`, 'wrong')));
      const rs = await c.waitFor((x) => x.filter((r) => r.op === BIND_RESPONSE).length >= 2, 5000);
      assert.equal(rs.filter((r) => r.op === BIND_RESPONSE)[1]?.code, 49);
      c.write(rootDseSearchOfSize(3, 64 * KIB));
      assert.ok(await c.closesWithin(3000), 'an anonymous session gets the small limit');
      assert.ok(isNoticeOfDisconnection(c.responses().at(-1), PROTOCOL_ERROR));
    });

    it('accepts a PDU up to maxPduBytes once bound', async () => {
      const c = await h.bound();
      c.write(rootDseSearchOfSize(2, 256 * KIB));
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      assert.equal(rs.find((r: RawResponse) => r.op === SEARCH_DONE)?.code, 0);
      assert.equal(c.closed, false);
    });
  });

  describe('idle timeout', () => {
    let h: Harness;

    before(async () => {
      h = new Harness({ idleTimeoutSeconds: 10, unboundIdleTimeoutSeconds: 1 });
      await h.start();
    });

    after(async () => h?.stop());

    it('closes an idle connection that never bound after the shorter unbound timeout, and keeps a bound one', async () => {
      const [anonymous, bound] = await Promise.all([h.connect(), h.bound()]);
      assert.ok(await anonymous.closesWithin(3000), 'the anonymous connection is closed after about a second');
      assert.equal(bound.closed, false, 'the bound connection stays open');
    });
  });

  describe('per-address connection counting (clientKey)', () => {
    const table: [string, string][] = [
      ['127.0.0.1', '127.0.0.1'],
      ['::ffff:192.0.2.7', '192.0.2.7'],
      ['::1', '0:0:0:0::/64'],
      ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
      ['2001:0db8:0001:0002::1', '2001:db8:1:2::/64'],
      ['2001:DB8:1:2::ffff', '2001:db8:1:2::/64'],
      ['2001:db8::1', '2001:db8:0:0::/64'],
      ['2001:db8:1::', '2001:db8:1:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['::ffff:0:192.0.2.1', '0:0:0:0::/64'],
    ];
    for (const [address, key] of table) {
      it(`counts ${address} as ${key}`, () => assert.equal(clientKey(address), key));
    }

    it('counts two addresses of one /64 together and of neighbouring /64s apart', () => {
      assert.equal(clientKey('2001:db8:0:1::a'), clientKey('2001:db8:0:1:ffff:ffff:ffff:ffff'));
      assert.notEqual(clientKey('2001:db8:0:1::a'), clientKey('2001:db8:0:2::a'));
    });
  });
});
