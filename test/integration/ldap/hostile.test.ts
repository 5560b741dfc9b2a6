import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import {
  RawConnection,
  berInt,
  berLength,
  STANDARD_USERS,
  berString,
  client,
  equalityFilter,
  exec,
  failsWith,
  isNoticeOfDisconnection,
  lastLdapEventId,
  ldapEnv,
  ldapEvents,
  ldapMessage,
  ok,
  pagedControl,
  pagedCookie,
  presentFilter,
  probeSearch,
  searchRequest,
  seedDirectory,
  simpleBindRequest,
  tlv,
  type Directory,
  type RawResponse,
} from './support.js';

const SEARCH_DONE = 0x65;
const SEARCH_ENTRY = 0x64;
const BIND_RESPONSE = 0x61;
const PROTOCOL_ERROR = 2;

const rootDseSearch = (id: number, attrs: string[] = ['1.1']) => ldapMessage(id, searchRequest('', 0, presentFilter('objectClass'), attrs));

/** `depth` NOT filters around `inner`, built in one pass (wrapping one by one would copy O(n²) bytes). */
function nestedNot(depth: number, inner: Buffer): Buffer {
  const headers: Buffer[] = [];
  let len = inner.length;
  for (let i = 0; i < depth; i++) {
    const h = Buffer.concat([Buffer.from([0xa2]), berLength(len)]);
    headers.push(h);
    len += h.length;
  }
  const out = Buffer.concat([...headers.reverse(), inner]);
  assert.equal(out.length, len);
  return out;
}

/** A Root DSE search padded (through one long requested attribute name) to exactly `total` bytes. */
function paddedRootDseSearch(id: number, total: number): Buffer {
  for (let n = total - 40; n > 0; n--) {
    const m = ldapMessage(id, searchRequest('', 0, presentFilter('objectClass'), ['a'.repeat(n)]));
    if (m.length === total) return m;
    if (m.length < total) break;
  }
  throw new Error(`cannot pad a search to ${total} bytes`);
}

/**
 * Hostile input from unauthenticated peers (security.md item 1, issue 3 "Robustness"): the process
 * must survive each, keep answering other clients during and after, and keep its event loop
 * responsive. Each test checks a real client (ldapts bind + search, or ldapwhoami) afterwards.
 */
describe('LDAP under hostile input', function () {
  this.timeout(60_000);
  let run: RunningAppliance;
  let dir: Directory;
  let port: number;
  const raws: RawConnection[] = [];
  let loop: IntervalHistogram;

  const raw = (opts: { localAddress?: string; read?: boolean } = {}) => {
    const c = new RawConnection(port, opts);
    raws.push(c);
    return c;
  };

  /** A real client still gets a right answer, and the HTTP health check answers. */
  async function stillServing(): Promise<void> {
    assert.deepEqual(await probeSearch(dir), [dir.userDn('bob').toLowerCase()], 'ldapts bind + search');
    const health = await fetch(`${run.httpUrl}/health`);
    assert.equal(health.status, 200);
  }

  before(async () => {
    run = await startAppliance();
    port = run.endpoints.ldap!.port;
    dir = await seedDirectory(run, STANDARD_USERS.filter((u) => ['binder', 'alice', 'bob'].includes(u.username)).map((u) => ({ ...u, bound: true })), []);
  });

  beforeEach(() => {
    loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
  });

  afterEach(function () {
    loop.disable();
    for (const c of raws.splice(0)) c.destroy();
    const p99 = loop.percentile(99) / 1e6;
    const max = loop.max / 1e6;
    if (this.currentTest?.state === 'passed') {
      assert.ok(p99 < 200, `event loop delay p99 ${p99.toFixed(1)} ms during "${this.currentTest.title}"`);
      // p99 hides a single long stall; no single stall may approach a second either
      assert.ok(max < 1000, `event loop stalled for ${max.toFixed(0)} ms during "${this.currentTest.title}"`);
    }
  });

  after(async () => run?.stop());

  describe('floods', () => {
    it('answers 10,000 tiny pipelined Root DSE searches sent in one write, each once and in order, while serving others', async () => {
      const c = raw();
      await c.connected;
      const N = 10_000;
      c.write(Buffer.concat(Array.from({ length: N }, (_, i) => rootDseSearch(i + 1))));
      let probes = 0;
      const done = (rs: RawResponse[]) => rs.filter((r) => r.op === SEARCH_DONE).length >= N;
      const probing = (async () => {
        while (!done(c.responses()) && !c.closed) {
          await stillServing();
          probes++;
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const rs = await c.waitFor(done, 30_000);
      await probing;
      const dones = rs.filter((r) => r.op === SEARCH_DONE);
      assert.equal(dones.length, N, `got ${dones.length} results of ${N}; closed: ${c.closed}`);
      assert.ok(
        dones.every((r, i) => r.messageId === i + 1 && r.code === 0),
        'every request answered once, in order, with success',
      );
      assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, N);
      assert.ok(probes >= 1, 'another client was served during the flood');
      assert.equal(c.closed, false);
    });

    it('records the events of an anonymous flood within a budget per address, and still every bound search', async () => {
      const since = await lastLdapEventId(run);
      const c = raw({ localAddress: '127.0.0.9' });
      await c.connected;
      const N = 3_000;
      const t0 = Date.now();
      c.write(Buffer.concat(Array.from({ length: N }, (_, i) => rootDseSearch(i + 1))));
      const rs = await c.waitFor((x) => x.filter((r) => r.op === SEARCH_DONE).length >= N, 30_000);
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(rs.filter((r) => r.op === SEARCH_DONE && r.code === 0).length, N, 'every search answered');
      await stillServing();
      const evs = await ldapEvents(run, since, (e) => e.some((x) => x.event_type === 'ldap_search' && x.client_ip !== '127.0.0.9'));
      const flood = evs.filter((e) => e.event_type === 'ldap_search' && e.client_ip === '127.0.0.9');
      // 200 at once, then 20/s (recordUnauthenticated): far fewer than the 3,000 searches.
      assert.ok(flood.length >= 100 && flood.length <= 200 + 20 * (seconds + 1), `${flood.length} events of ${N} searches in ${seconds.toFixed(1)} s`);
      assert.ok(flood.every((e) => e.base === '' && e.success === true && (e.initiated_by as { username: string }).username === ''));
      const bound = evs.filter((e) => e.event_type === 'ldap_search' && e.client_ip !== '127.0.0.9');
      assert.equal(bound.length, 1, 'the bound search is recorded');
      assert.equal((bound[0]!.initiated_by as { username: string }).username, 'binder');
    });

    it('records an ordinary user\'s searches within a budget per user, and every search of a bind account', async () => {
      const since = await lastLdapEventId(run);
      const flood = async (user: 'alice' | 'binder', n: number) => {
        const c = raw();
        await c.connected;
        const u = dir.users[user]!;
        const t0 = Date.now();
        c.write(Buffer.concat([ldapMessage(1, simpleBindRequest(u.dn, u.password)), ...Array.from({ length: n }, (_, i) => ldapMessage(i + 2, searchRequest(u.dn, 0, presentFilter('objectClass'), ['1.1'])))]));
        const rs = await c.waitFor((x) => x.filter((r) => r.op === SEARCH_DONE).length >= n, 30_000);
        assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, n, `${user}: every search answered with the entry`);
        return (Date.now() - t0) / 1000;
      };
      const seconds = await flood('alice', 2_000);
      await flood('binder', 500);
      const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_search' && x.username === 'binder').length >= 500);
      const of = (u: string) => evs.filter((e) => e.event_type === 'ldap_search' && e.username === u).length;
      assert.ok(of('alice') >= 100 && of('alice') <= 200 + 20 * (seconds + 1), `${of('alice')} events of alice's 2,000 searches in ${seconds.toFixed(1)} s`);
      assert.equal(of('binder'), 500, 'a bind account is recorded in full');
    });

    it('answers 10,000 anonymous binds without unbind sent in one write', async () => {
      const c = raw();
      await c.connected;
      const N = 10_000;
      c.write(Buffer.concat(Array.from({ length: N }, (_, i) => ldapMessage(i + 1, simpleBindRequest('', '')))));
      const rs = await c.waitFor((x) => x.length >= N, 30_000);
      assert.equal(rs.length, N);
      assert.ok(rs.every((r, i) => r.op === BIND_RESPONSE && r.messageId === i + 1 && r.code === 0));
      await stillServing();
    });

    it('keeps serving others while one connection pipelines 2,000 failing binds of unknown users', async () => {
      const c = raw();
      await c.connected;
      c.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => ldapMessage(i + 1, simpleBindRequest(dir.userDn(`ghost${i}`), 'guess')))));
      const t0 = Date.now();
      await stillServing();
      await stillServing();
      assert.ok(Date.now() - t0 < 5000, `two probes took ${Date.now() - t0} ms`);
      const rs = c.responses();
      assert.ok(rs.every((r) => r.op === BIND_RESPONSE && r.code === 49));
    });
  });

  describe('malformed input', () => {
    async function expectNotice(c: RawConnection, what: string): Promise<void> {
      // Responses before the notice (a BindResponse) may precede it; the notice has message ID 0.
      const rs = await c.waitFor((x) => x.some((r) => r.messageId === 0), 5000);
      assert.ok(isNoticeOfDisconnection(rs.find((r) => r.messageId === 0), PROTOCOL_ERROR), `${what}: expected a Notice of Disconnection with protocolError, got ${c.received.toString('hex').slice(0, 200)}`);
      assert.ok(await c.closesWithin(3000), `${what}: the connection is closed`);
    }

    it('answers random bytes with a Notice of Disconnection (protocolError) and closes', async () => {
      for (let i = 0; i < 20; i++) {
        const junk = randomBytes(1 + Math.floor(Math.random() * 2000));
        if (junk[0] === 0x30) junk[0] = 0x31;
        const c = raw();
        await c.connected;
        c.write(junk);
        await expectNotice(c, `random bytes #${i}`);
      }
      await stillServing();
    });

    it('answers a SEQUENCE holding garbage with a Notice of Disconnection', async () => {
      for (const body of [randomBytes(5), Buffer.from([0x02, 0x01]), Buffer.from([0x02, 0x01, 0x01, 0x63, 0x7f]), Buffer.from([0x02, 0x01, 0x01, 0x99, 0x00])]) {
        const c = raw();
        await c.connected;
        c.write(tlv(0x30, body));
        await expectNotice(c, `30 ${body.toString('hex')}`);
      }
      await stillServing();
    });

    it('answers a non-LDAP first byte (an HTTP request, a TLS ClientHello) with a Notice and closes', async () => {
      const clientHello = Buffer.from('16030100a5010000a10303', 'hex');
      for (const bytes of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), clientHello, Buffer.from([0x00, 0x00])]) {
        const c = raw();
        await c.connected;
        c.write(bytes);
        await expectNotice(c, bytes.subarray(0, 4).toString('hex'));
      }
      const who = await exec('ldapwhoami', ['-x', '-H', dir.url, '-D', dir.users.alice!.dn, '-w', dir.users.alice!.password], { env: ldapEnv(dir) });
      assert.equal(who.code, 0, who.stderr);
    });

    it('refuses a lone first byte that is not a SEQUENCE without waiting for more', async () => {
      const c = raw();
      await c.connected;
      c.write(Buffer.from([0x16]));
      await expectNotice(c, 'a single 0x16 byte');
    });

    it('refuses a length field claiming 2 GB at once, without waiting for the bytes', async () => {
      for (const header of [
        [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff],
        [0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        [0x30, 0x88, 0, 0, 0, 0, 0, 0, 0, 1],
      ]) {
        const c = raw();
        await c.connected;
        const t0 = Date.now();
        c.write(Buffer.from([...header, 0x02, 0x01, 0x01]));
        await expectNotice(c, Buffer.from(header).toString('hex'));
        assert.ok(Date.now() - t0 < 2000);
      }
      await stillServing();
    });

    it('refuses an indefinite length', async () => {
      const c = raw();
      await c.connected;
      c.write(Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00]));
      await expectNotice(c, 'indefinite length');
    });

    it('answers a PDU of exactly maxPduBytes (262144) once bound and refuses one byte more with a Notice of Disconnection', async () => {
      const max = 262_144;
      const bound = async () => {
        const c = raw();
        await c.connected;
        c.write(ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)));
        const r = await c.waitFor((x) => x.some((m) => m.op === BIND_RESPONSE), 5000);
        assert.equal(r.find((m) => m.op === BIND_RESPONSE)?.code, 0);
        return c;
      };
      const fits = paddedRootDseSearch(2, max);
      assert.equal(fits.length, max);
      const a = await bound();
      a.write(fits);
      const ra = await a.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      assert.equal(ra.find((r) => r.op === SEARCH_DONE)?.code, 0, `a PDU of exactly ${max} bytes is answered`);

      const over = paddedRootDseSearch(2, max + 1);
      assert.equal(over.length, max + 1);
      const b = await bound();
      b.write(over.subarray(0, 16));
      await expectNotice(b, `${max + 1} bytes`);
      await stillServing();
    });

    it('limits a connection that has not bound to maxPduBytesBeforeBind (16384)', async () => {
      const small = 16_384;
      const a = raw();
      await a.connected;
      a.write(paddedRootDseSearch(1, small));
      const ra = await a.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      assert.equal(ra.find((r) => r.op === SEARCH_DONE)?.code, 0);
      const b = raw();
      await b.connected;
      b.write(paddedRootDseSearch(1, small + 1).subarray(0, 16));
      await expectNotice(b, `${small + 1} bytes`);
      await stillServing();
    });

    it('answers a valid request written one byte at a time', async () => {
      const c = raw();
      await c.connected;
      const req = Buffer.concat([ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)), ldapMessage(2, searchRequest(dir.base, 2, equalityFilter('uid', 'alice'), ['uid']))]);
      const writing = (async () => {
        for (let i = 0; i < req.length; i++) {
          c.write(req.subarray(i, i + 1));
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      // others are served meanwhile
      await stillServing();
      await writing;
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 10_000);
      assert.equal(rs[0]?.op, BIND_RESPONSE);
      assert.equal(rs[0]?.code, 0);
      assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, 1);
      assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0);
    });

    for (const depth of [98, 5_000, 50_000]) {
      it(`answers a filter of ${depth.toLocaleString('en')} nested NOTs with unwillingToPerform, not a crash or a disconnect`, async () => {
        const f = nestedNot(depth, presentFilter('objectClass'));
        // anonymous, against the Root DSE
        const a = raw();
        await a.connected;
        const anonymous = ldapMessage(1, searchRequest('', 0, f));
        a.write(anonymous);
        const ra = await a.waitFor((x) => x.length > 0, 10_000);
        const first = ra[0];
        assert.ok(first, 'an answer');
        assert.ok(!ra.some((r) => r.op === SEARCH_ENTRY), 'no entry');
        if (anonymous.length > 16_384) {
          // Over maxPduBytesBeforeBind: refused as too large before anything reads it.
          assert.ok(isNoticeOfDisconnection(first, PROTOCOL_ERROR), `got op 0x${first.op.toString(16)} code ${first.code}`);
        } else {
          // A well-formed message: the operation is refused (as 65 to 100 levels are), the connection stays.
          assert.ok(first.op === SEARCH_DONE && first.messageId === 1 && first.code === 53, `got op 0x${first.op.toString(16)} code ${first.code}`);
          a.write(rootDseSearch(2));
          const after = await a.waitFor((x) => x.some((r) => r.messageId === 2 && r.op === SEARCH_DONE), 5_000);
          assert.equal(after.find((r) => r.messageId === 2 && r.op === SEARCH_DONE)?.code, 0, 'the connection goes on');
        }
        // bound, against the directory
        const b = raw();
        await b.connected;
        b.write(ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)));
        // Once bound, the larger limit applies (a message pipelined behind the bind is still unbound's).
        await b.waitFor((x) => x.some((r) => r.messageId === 1), 10_000);
        b.write(ldapMessage(2, searchRequest(dir.base, 2, f)));
        const rb = await b.waitFor((x) => x.length > 1 || x.some((r) => r.messageId === 0), 10_000);
        const second = rb.find((r) => r.messageId !== 1);
        assert.ok(second, `an answer to the search: ${b.received.toString('hex').slice(0, 100)}`);
        if (f.length > 262_000) assert.ok(isNoticeOfDisconnection(second, PROTOCOL_ERROR), `op 0x${second.op.toString(16)} code ${second.code}`);
        else assert.ok(second.op === SEARCH_DONE && second.code === 53, `op 0x${second.op.toString(16)} code ${second.code}`);
        await stillServing();
      });
    }

    it('answers a tampered paged-results cookie with an error result, not a crash', async () => {
      const c = raw();
      await c.connected;
      const filter = presentFilter('objectClass');
      c.write(Buffer.concat([ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)), ldapMessage(2, searchRequest(dir.base, 2, filter, ['1.1']), pagedControl(2, Buffer.alloc(0)))]));
      const rs = await c.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 5000);
      const cookie = pagedCookie(rs.find((r) => r.op === SEARCH_DONE)!);
      assert.ok(cookie && cookie.length > 0, 'a first page with a cookie');
      const flipped = Buffer.from(cookie);
      flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 0x01;
      const tampered = [
        flipped,
        Buffer.from(cookie.toString('latin1').replace(/^\d/, '9'), 'latin1'),
        Buffer.from(cookie.toString('latin1').replace(/\.\d+\./, '.999999999999.'), 'latin1'),
        randomBytes(64),
        Buffer.alloc(5000, 0x41),
        Buffer.alloc(0),
      ];
      let id = 3;
      for (const t of tampered) {
        const mine = id++;
        c.write(ldapMessage(mine, searchRequest(dir.base, 2, filter, ['1.1']), pagedControl(2, t)));
        const got = await c.waitFor((x) => x.some((r) => r.messageId === mine && r.op === SEARCH_DONE), 5000);
        const done = got.find((r) => r.messageId === mine && r.op === SEARCH_DONE);
        assert.ok(done, `an answer for cookie ${t.toString('hex').slice(0, 40)}; closed: ${c.closed}`);
        if (t.length === 0) assert.equal(done.code, 0, 'an empty cookie starts over');
        else if (t.equals(flipped) || t.length === 64 || t.length === 5000) assert.notEqual(done.code, 0, `cookie ${t.toString('latin1').slice(0, 40)}`);
      }
      // The position and the count are the server's state (RFC 2696 §3): moved or reset, refused.
      const [phase, , sentBefore, ...rest] = cookie.toString('latin1').split('.');
      for (const forged of [
        [phase, Buffer.from('zzz').toString('base64url'), sentBefore, ...rest].join('.'),
        [phase, cookie.toString('latin1').split('.')[1], '0', ...rest].join('.'),
      ]) {
        const mine = id++;
        c.write(ldapMessage(mine, searchRequest(dir.base, 2, filter, ['1.1']), pagedControl(2, Buffer.from(forged, 'latin1'))));
        const got = await c.waitFor((x) => x.some((r) => r.messageId === mine && r.op === SEARCH_DONE), 5000);
        assert.notEqual(got.find((r) => r.messageId === mine && r.op === SEARCH_DONE)?.code, 0, `forged cookie ${forged.slice(0, 60)}`);
      }
      // Two paged controls on one search: protocolError (2), as slapd answers.
      const twice = id++;
      const control = (cookie_: Buffer) => tlv(0x30, berString('1.2.840.113556.1.4.319'), berString(tlv(0x30, berInt(2), berString(cookie_))));
      c.write(ldapMessage(twice, searchRequest(dir.base, 2, filter, ['1.1']), tlv(0xa0, control(Buffer.alloc(0)), control(Buffer.alloc(0)))));
      const dup = await c.waitFor((x) => x.some((r) => r.messageId === twice && r.op === SEARCH_DONE), 5000);
      assert.equal(dup.find((r) => r.messageId === twice && r.op === SEARCH_DONE)?.code, PROTOCOL_ERROR);
      // a valid cookie used for another search is refused too
      const other = id++;
      c.write(ldapMessage(other, searchRequest(dir.base, 2, equalityFilter('uid', 'bob'), ['1.1']), pagedControl(2, cookie)));
      const got = await c.waitFor((x) => x.some((r) => r.messageId === other && r.op === SEARCH_DONE), 5000);
      assert.notEqual(got.find((r) => r.messageId === other && r.op === SEARCH_DONE)?.code, 0, 'a cookie from another search');
      assert.equal(c.closed, false);
      await stillServing();
    });

    it('answers a substrings filter with final first, and an extensible match with neither rule nor type, with protocolError (2)', async () => {
      const c = raw();
      await c.connected;
      const badSubstrings = tlv(0xa4, berString('cn'), tlv(0x30, berString('z', 0x82), berString('a', 0x80)));
      const badExtensible = tlv(0xa9, berString('alice', 0x83));
      c.write(Buffer.concat([
        ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)),
        ldapMessage(2, searchRequest(dir.base, 2, badSubstrings, ['1.1'])),
        ldapMessage(3, searchRequest(dir.base, 2, badExtensible, ['1.1'])),
        ldapMessage(4, searchRequest(dir.base, 2, equalityFilter('uid', 'alice'), ['1.1'])),
      ]));
      const rs = await c.waitFor((x) => x.some((r) => r.messageId === 4 && r.op === SEARCH_DONE), 5000);
      for (const id of [2, 3]) assert.equal(rs.find((r) => r.messageId === id && r.op === SEARCH_DONE)?.code, PROTOCOL_ERROR, `search ${id}`);
      assert.equal(rs.filter((r) => r.op === SEARCH_ENTRY).length, 1, 'the good search behind them is answered');
      assert.equal(c.closed, false);
    });

    it('evaluates a filter item of an unknown CHOICE as Undefined, as slapd does, and keeps the connection (RFC 4511 §4.5.1)', async () => {
      const c = raw();
      await c.connected;
      const unknownConstructed = tlv(0xaa, berString('x'));
      const unknownPrimitive = berString('y', 0x8b);
      const alice = equalityFilter('uid', 'alice');
      c.write(Buffer.concat([
        ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)),
        // (| <unknown> (uid=alice)): Undefined OR TRUE is TRUE.
        ldapMessage(2, searchRequest(dir.base, 2, tlv(0xa1, unknownConstructed, alice), ['1.1'])),
        // <unknown> alone, and (! <unknown>): Undefined, no entry, success.
        ldapMessage(3, searchRequest(dir.base, 2, unknownPrimitive, ['1.1'])),
        ldapMessage(4, searchRequest(dir.base, 2, tlv(0xa2, unknownConstructed), ['1.1'])),
        // (& (uid=alice) (! <unknown>)): TRUE AND Undefined is Undefined.
        ldapMessage(5, searchRequest(dir.base, 2, tlv(0xa0, alice, tlv(0xa2, unknownPrimitive)), ['1.1'])),
        ldapMessage(6, searchRequest(dir.base, 2, equalityFilter('uid', 'bob'), ['1.1'])),
      ]));
      const rs = await c.waitFor((x) => x.some((r) => r.messageId === 6 && r.op === SEARCH_DONE), 5000);
      for (const id of [2, 3, 4, 5, 6]) assert.equal(rs.find((r) => r.messageId === id && r.op === SEARCH_DONE)?.code, 0, `search ${id}`);
      const entries = (id: number) => rs.filter((r) => r.messageId === id && r.op === SEARCH_ENTRY).length;
      assert.deepEqual([2, 3, 4, 5, 6].map(entries), [1, 0, 0, 0, 1]);
      assert.equal(c.closed, false);
    });

    it('answers an unknown protocol op with a Notice of Disconnection', async () => {
      const c = raw();
      await c.connected;
      c.write(ldapMessage(1, tlv(0x7f, berString('x'))));
      await expectNotice(c, 'op 0x7f');
      await stillServing();
    });
  });

  describe('back-pressure', () => {
    before(async function () {
      this.timeout(60_000);
      // 120 visible users with long descriptions: one sub-tree search answers ~250 kB.
      const group = await ok(run.api('POST', '/api/v2/usergroups', { name: 'bulk' }), 201, 'bulk group');
      await ok(run.api('POST', `/api/v2/usergroups/${group.id}/associations`, { op: 'add', type: 'ldap_server', id: dir.ldapServerId }), 204, 'bind bulk');
      const ids = Array.from({ length: 120 }, (_, i) => i);
      for (let k = 0; k < ids.length; k += 12) {
        await Promise.all(
          ids.slice(k, k + 12).map(async (i) => {
            const u = await ok(
              run.api('POST', '/api/systemusers', {
                username: `bulk${i}`,
                email: `bulk${i}@example.com`,
                firstname: 'Bulk',
                lastname: `User ${i}`,
                description: `${'d'.repeat(1000)}${i}`,
                jobTitle: 't'.repeat(200),
                department: 'p'.repeat(200),
              }),
              201,
              `bulk${i}`,
            );
            await ok(run.api('POST', `/api/v2/usergroups/${group.id}/members`, { op: 'add', type: 'user', id: u._id }), 204, `member bulk${i}`);
          }),
        );
      }
    });

    /** Five sockets that never read pipeline 200 big searches each; RSS is sampled for 3 s. */
    let abuse: { grewMb: number; unboundedMb: number; warnings: string[]; entries: number };

    before(async function () {
      this.timeout(30_000);
      const big = ldapMessage(2, searchRequest(dir.base, 2, presentFilter('objectClass'), ['*']));
      // a reading client gets the whole, big answer
      const r = raw();
      await r.connected;
      r.write(Buffer.concat([ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)), big]));
      const whole = await r.waitFor((x) => x.some((y) => y.op === SEARCH_DONE), 20_000);
      const entries = whole.filter((y) => y.op === SEARCH_ENTRY).length;
      const perSearch = r.bytesReceived;
      r.destroy();

      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      try {
        const before = process.memoryUsage().rss;
        const sockets = Array.from({ length: 5 }, () => raw({ read: false }));
        await Promise.all(sockets.map((s) => s.connected));
        const requests = 200;
        for (const s of sockets) {
          s.write(
            Buffer.concat([
              ldapMessage(1, simpleBindRequest(dir.users.binder!.dn, dir.users.binder!.password)),
              ...Array.from({ length: requests }, (_, i) => ldapMessage(i + 2, searchRequest(dir.base, 2, presentFilter('objectClass'), ['*']))),
            ]),
          );
        }
        let peak = before;
        for (let t = 0; t < 30; t++) {
          await new Promise((res) => setTimeout(res, 100));
          peak = Math.max(peak, process.memoryUsage().rss);
        }
        // meanwhile, others are served
        await stillServing();
        for (const s of sockets) s.destroy();
        abuse = { grewMb: (peak - before) / 2 ** 20, unboundedMb: (sockets.length * requests * perSearch) / 2 ** 20, warnings, entries };
      } finally {
        process.off('warning', onWarning);
      }
    });

    it('does not buffer without bound for clients that never read their responses', async () => {
      assert.ok(abuse.entries >= 120, `a big search answers ${abuse.entries} entries`);
      assert.ok(abuse.grewMb < 80, `RSS grew by ${abuse.grewMb.toFixed(0)} MB (unbounded buffering would need ~${abuse.unboundedMb.toFixed(0)} MB)`);
      await stillServing();
    });

    it('does not add socket listeners each time it waits for a slow reader', () => {
      // MaxListenersExceededWarning on the server's sockets means one more 'close'/'error' listener per wait, never removed.
      assert.deepEqual(
        abuse.warnings.filter((w) => /MaxListenersExceeded/.test(w)),
        [],
      );
    });
  });
});

/** Connection caps, idle timeout and the server's size limit, with small limits so that they can be reached. */
describe('LDAP connection limits', function () {
  this.timeout(30_000);
  let run: RunningAppliance;
  let dir: Directory;
  const raws: RawConnection[] = [];
  const hold = async (port: number, localAddress: string) => {
    const c = new RawConnection(port, { localAddress });
    raws.push(c);
    await c.connected;
    return c;
  };
  const refusedWithin = async (c: RawConnection, ms: number) => {
    const closed = await c.closesWithin(ms);
    return closed;
  };

  before(async () => {
    run = await startAppliance({ ldap: { port: 0, ldapsPort: 0, maxConnections: 8, maxConnectionsPerIp: 4, idleTimeoutSeconds: 3, maxSizeLimit: 3, maxPageSize: 2 } });
    dir = await seedDirectory(run, STANDARD_USERS.filter((u) => ['binder', 'bob'].includes(u.username)).map((u) => ({ ...u, bound: true })), []);
  });

  afterEach(() => {
    for (const c of raws.splice(0)) c.destroy();
  });

  after(async () => run?.stop());

  const settle = () => new Promise((r) => setTimeout(r, 300));

  it('refuses connections over the per-address cap with a Notice (unavailable) while another address is served', async () => {
    const port = run.endpoints.ldap!.port;
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await hold(port, '127.0.0.2'));
    await settle();
    assert.ok(held.every((c) => !c.closed), 'the first four stay open');
    const extra = await hold(port, '127.0.0.2');
    assert.ok(await refusedWithin(extra, 2000), 'the fifth from the same address is closed');
    assert.ok(isNoticeOfDisconnection(extra.responses()[0], 52), `Notice of Disconnection with unavailable (52): ${extra.received.toString('hex')}`);
    assert.deepEqual(await probeSearch(dir), [dir.userDn('bob').toLowerCase()], 'a client from 127.0.0.1 is served');
    // held connections still work
    held[0]!.write(ldapMessage(1, searchRequest('', 0, presentFilter('objectClass'), ['1.1'])));
    const rs = await held[0]!.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 3000);
    assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0);
  });

  it('refuses connections over the total cap and accepts again once some close', async () => {
    const port = run.endpoints.ldap!.port;
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await hold(port, '127.0.0.3'));
    for (let i = 0; i < 4; i++) a.push(await hold(port, '127.0.0.4'));
    await settle();
    assert.ok(a.every((c) => !c.closed));
    const extra = await hold(port, '127.0.0.5');
    assert.ok(await refusedWithin(extra, 2000), 'the ninth connection is closed');
    a[0]!.destroy();
    a[1]!.destroy();
    await settle();
    const again = await hold(port, '127.0.0.5');
    await settle();
    assert.equal(again.closed, false, 'a connection is accepted once others closed');
    again.write(ldapMessage(1, searchRequest('', 0, presentFilter('objectClass'), ['1.1'])));
    const rs = await again.waitFor((x) => x.some((r) => r.op === SEARCH_DONE), 3000);
    assert.equal(rs.find((r) => r.op === SEARCH_DONE)?.code, 0);
  });

  it('counts LDAPS connections that never finish the TLS handshake against the caps', async () => {
    const ldapsPort = run.endpoints.ldap!.ldapsPort;
    const conns = [];
    for (let i = 0; i < 12; i++) conns.push(await hold(ldapsPort, '127.0.0.6'));
    await new Promise((r) => setTimeout(r, 1500));
    const open = conns.filter((c) => !c.closed).length;
    assert.ok(open <= 4, `${open} of 12 half-open LDAPS connections from one address are still held (cap per address: 4)`);
  });

  it('applies maxSizeLimit to unpaged searches (sizeLimitExceeded) and maxPageSize to paged ones', async () => {
    // org, ou=Users, binder, bob: four entries
    const c = client(dir);
    try {
      await c.bind(dir.users.binder!.dn, dir.users.binder!.password);
      const err = await failsWith(c.search(dir.base, { filter: '(objectClass=*)', attributes: ['1.1'] }), 4);
      assert.ok(err);
      const paged = await c.search(dir.base, { filter: '(objectClass=*)', attributes: ['1.1'], paged: { pageSize: 100 } });
      assert.equal(paged.searchEntries.length, 4, 'a paged search is not cut by maxSizeLimit');
    } finally {
      await c.unbind().catch(() => undefined);
    }
    const r = await exec('ldapsearch', ['-x', '-H', dir.url, '-D', dir.users.binder!.dn, '-w', dir.users.binder!.password, '-b', dir.base, '-E', 'pr=100/noprompt', '(objectClass=*)', '1.1'], { env: ldapEnv(dir) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal([...r.stdout.matchAll(/^dn: /gm)].length, 4);
    assert.equal([...r.stdout.matchAll(/^# with pagedResults control/gm)].length, 2, 'pages of at most maxPageSize (2) entries');
    const unpaged = await exec('ldapsearch', ['-x', '-H', dir.url, '-D', dir.users.binder!.dn, '-w', dir.users.binder!.password, '-b', dir.base, '(objectClass=*)', '1.1'], { env: ldapEnv(dir) });
    assert.equal(unpaged.code, 4, unpaged.stderr);
    assert.equal([...unpaged.stdout.matchAll(/^dn: /gm)].length, 3);
  });

  it('closes a connection that stays idle longer than idleTimeoutSeconds', async () => {
    const c = await hold(run.endpoints.ldap!.port, '127.0.0.7');
    assert.equal(await c.closesWithin(1500), false, 'not before the timeout');
    assert.ok(await c.closesWithin(4000), 'closed after about 3 s of silence');
    assert.deepEqual(await probeSearch(dir), [dir.userDn('bob').toLowerCase()]);
  });

  it('keeps a connection whose writes always end inside a message, as long as messages complete', async () => {
    // Root DSE searches, each write finishing one and starting the next, for longer than the timeout.
    const c = await hold(run.endpoints.ldap!.port, '127.0.0.9');
    const msg = (id: number) => rootDseSearch(id);
    let id = 1;
    c.write(msg(id).subarray(0, 10));
    const started = Date.now();
    while (Date.now() - started < 4500) {
      await new Promise((r) => setTimeout(r, 200));
      c.write(Buffer.concat([msg(id).subarray(10), msg(id + 1).subarray(0, 10)]));
      id++;
    }
    assert.equal(c.closed, false, 'closed although every message completed');
    const rs = await c.waitFor((x) => x.filter((r) => r.op === SEARCH_DONE).length >= id - 1, 3000);
    assert.ok(rs.filter((r) => r.op === SEARCH_DONE).length >= id - 1, 'every completed search answered');
  });

  it('closes a connection that trickles a message one byte at a time for longer than idleTimeoutSeconds', async () => {
    // A bind announced as 200 octets, then one octet every 500 ms: never idle, never complete.
    const c = await hold(run.endpoints.ldap!.port, '127.0.0.8');
    c.write(Buffer.from([0x30, 0x81, 0xc8]));
    const trickle = setInterval(() => c.write(Buffer.from([0x02])), 500);
    try {
      assert.equal(await c.closesWithin(1500), false, 'not before the timeout');
      assert.ok(await c.closesWithin(4000), 'closed about 3 s after the message began');
    } finally {
      clearInterval(trickle);
    }
    assert.deepEqual(await probeSearch(dir), [dir.userDn('bob').toLowerCase()]);
  });
});

/**
 * A fatal TLS error after the handshake (a forged record, plaintext under TLS) ends the connection:
 * OpenSSL sends its alert and the server closes (RFC 8446 §6.2), on LDAPS and after StartTLS, rather
 * than holding the connection until the idle timeout (see src/ldap/tls-socket.ts). The client is
 * Python's ssl module: after the handshake it writes a forged record on a duplicate of the socket
 * (bypassing its own TLS layer, which would otherwise close first on the alert) and waits for EOF.
 */
const FORGE_UNDER_TLS = `
import os, socket, ssl, sys
port, starttls = int(sys.argv[1]), sys.argv[2] == 'starttls'
s = socket.create_connection(('127.0.0.1', port))
if starttls:
    s.sendall(bytes.fromhex('301d02010177188016312e332e362e312e342e312e313436362e3230303337'))
    s.recv(100)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
raw = socket.socket(fileno=os.dup(t.fileno()))
raw.sendall(b'\\x17\\x03\\x03\\x00\\x20' + b'B' * 32)
raw.settimeout(3)
try:
    while raw.recv(4096):
        pass
    print('closed')
except socket.timeout:
    print('open')
`;

describe('LDAP over TLS: records that fail to decrypt', function () {
  this.timeout(30_000);
  let run: RunningAppliance;
  before(async function () {
    if ((await exec('sh', ['-c', 'command -v python3'])).code !== 0) {
      if (process.env.CI) throw new Error('python3 is required in CI');
      this.skip();
    }
    run = await startAppliance();
  });
  after(async () => run?.stop());

  for (const [what, port, mode] of [
    ['an LDAPS connection', () => run.endpoints.ldap!.ldapsPort, 'ldaps'],
    ['a StartTLS connection', () => run.endpoints.ldap!.port, 'starttls'],
  ] as const) {
    it(`closes ${what} at once`, async () => {
      const r = await exec('python3', ['-c', FORGE_UNDER_TLS, String(port()), mode]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'closed', 'still open 3 s after the fatal alert');
    });
  }
});
