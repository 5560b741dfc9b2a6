import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QueryTypes } from 'sequelize';
import type { AuditEvent, AuditEventType, AuditQuery, AuditService } from '../../../src/core/audit/event.js';
import { makeAuditEvent, T0 } from '../../helpers/factories.js';
import { fold } from '../../../src/store/fold.js';
import { isDomainError } from '../../../src/core/errors.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';
import { SQLITE_ROWID_SPAN } from '../../../src/store/repositories/audit.js';

const SERVICES: AuditService[] = ['directory', 'ldap', 'radius', 'sso', 'systems'];
const TYPES: Record<AuditService, AuditEventType[]> = {
  directory: ['user_create', 'user_update', 'group_update', 'user_lockout'],
  ldap: ['ldap_bind', 'ldap_search'],
  radius: ['radius_auth_attempt', 'radius_accounting'],
  sso: ['sso_auth'],
  systems: ['system_update', 'system_delete'],
};
const COUNT = 600;
const STEP_MS = 60_000;
const ts = (i: number) => new Date(T0.getTime() + i * STEP_MS);

/** 600 events, one a minute, of every service and several types; a few carry marker text. */
function buildEvents(): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 0; i < COUNT; i++) {
    const service = SERVICES[i % SERVICES.length]!;
    const types = TYPES[service];
    const event_type = types[Math.floor(i / SERVICES.length) % types.length]!;
    const username = `user${i % 7}`;
    const e = makeAuditEvent({
      timestamp: ts(i).toISOString(),
      service,
      event_type,
      success: i % 3 !== 0,
      client_ip: `198.51.100.${i % 250}`,
      username,
      initiated_by: service === 'directory' ? { id: '5f0c1a2b3c4d5e6f70819203', type: 'admin', email: 'root@example.com' } : { type: 'user', username },
      resource: i % 4 === 0 ? { id: `res${i % 8}`, type: 'user', username: `user${i % 5}` } : undefined,
      mfa: i % 2 === 0,
      auth_method: 'password',
    });
    if (e.resource === undefined) delete e.resource;
    if (service === 'ldap') Object.assign(e, { dn: `uid=${username},ou=Users,o=gatehouse`, number_of_results: i % 11 });
    if (service === 'directory') e.changes = [{ field: 'department', from: null, to: { nested: [1, 'two', true] } }];
    events.push(e);
  }
  // Marker texts for the free-text search, on known events.
  events[10]!.error_message = 'Disk 100% Full';
  events[11]!.error_message = 'Disk 1000 Full';
  events[12]!.error_message = 'MiXeD CaSe NeedLe';
  events[13]!.error_message = 'snake_case_marker';
  events[14]!.error_message = 'snakeXcaseXmarker';
  events[15]!.name = 'Zoë Ünïcode';
  return events;
}

/** What the store should hand back: the event as JSON would carry it. */
const asJson = (e: AuditEvent): AuditEvent => JSON.parse(JSON.stringify(e)) as AuditEvent;
const byTime = (a: AuditEvent, b: AuditEvent) => a.timestamp.localeCompare(b.timestamp) || a.id.localeCompare(b.id);

for (const target of storeTargets()) {
  describe(`AuditRepository (${target})`, function () {
    const ctx = useTestStore(target, { scope: 'suite' });
    const audit = () => ctx.store.repos.audit;
    let events: AuditEvent[];
    const all = (q: Partial<AuditQuery> = {}): AuditQuery => ({
      services: 'all',
      startTime: new Date(T0.getTime() - 1000),
      endTime: new Date(T0.getTime() + COUNT * STEP_MS),
      limit: 10_000,
      skip: 0,
      ...q,
    });
    const ids = (xs: AuditEvent[]) => xs.map((e) => e.id);
    const expectIds = (pred: (e: AuditEvent) => boolean) => ids([...events].filter(pred).sort(byTime).reverse());

    // The tests only read (an empty append changes nothing), so one seeded store serves them all.
    before(async function () {
      this.timeout(60_000);
      events = buildEvents();
      // Appended as one batch, not in time order.
      const shuffled = [...events].sort((a, b) => a.id.slice(8).localeCompare(b.id.slice(8)));
      await audit().append(shuffled);
    });

    it('returns every event unchanged, newest first by default', async function () {
      const got = await audit().query(all());
      assert.equal(got.length, COUNT);
      assert.deepEqual(got, [...events].sort(byTime).reverse().map(asJson));
    });

    it('returns them oldest first when ascending', async function () {
      const got = await audit().query(all({ ascending: true }));
      assert.deepEqual(ids(got), ids([...events].sort(byTime)));
    });

    it('accepts an empty batch', async function () {
      await audit().append([]);
      assert.equal((await audit().query(all())).length, COUNT);
    });

    it('selects a time range', async function () {
      const got = await audit().query(all({ startTime: new Date(ts(100).getTime() - 500), endTime: new Date(ts(199).getTime() + 500) }));
      assert.equal(got.length, 100);
      assert.deepEqual(ids(got), expectIds((e) => Date.parse(e.timestamp) >= ts(100).getTime() && Date.parse(e.timestamp) <= ts(199).getTime()));
      assert.deepEqual(await audit().query(all({ startTime: new Date(T0.getTime() - 10 * STEP_MS), endTime: new Date(T0.getTime() - STEP_MS) })), []);
    });

    it('selects services', async function () {
      const got = await audit().query(all({ services: ['radius', 'sso'] }));
      assert.equal(got.length, 240);
      assert.deepEqual(ids(got), expectIds((e) => e.service === 'radius' || e.service === 'sso'));
    });

    it('pages with limit and skip in both directions', async function () {
      const desc = [...events].sort(byTime).reverse();
      assert.deepEqual(ids(await audit().query(all({ limit: 50, skip: 100 }))), ids(desc.slice(100, 150)));
      assert.deepEqual(ids(await audit().query(all({ limit: 50, skip: 100, ascending: true }))), ids([...desc].reverse().slice(100, 150)));
      assert.deepEqual(ids(await audit().query(all({ limit: 50, skip: 590 }))), ids(desc.slice(590)));
      assert.deepEqual(await audit().query(all({ limit: 50, skip: 600 })), []);
    });

    it('searches text case-insensitively', async function () {
      assert.deepEqual(ids(await audit().query(all({ searchText: 'mixed case needle' }))), [events[12]!.id]);
      assert.deepEqual(ids(await audit().query(all({ searchText: 'NEEDLE' }))), [events[12]!.id]);
    });

    it('searches non-ASCII text case-insensitively', async function () {
      // The event says "Zoë Ünïcode": the lower-case search must find the upper-case Ü.
      assert.deepEqual(ids(await audit().query(all({ searchText: 'ZOË' }))), [events[15]!.id]);
      assert.deepEqual(ids(await audit().query(all({ searchText: 'zoë ünïcode' }))), [events[15]!.id]);
    });

    it('keeps a folded copy only for non-ASCII events, and still searches rows written with one', async function () {
      const lc = async (id: string) =>
        (await ctx.current.sequelize.query<{ search_lc: string }>('SELECT search_lc FROM audit_events WHERE id = $1', { bind: [id], type: QueryTypes.SELECT }))[0]!.search_lc;
      assert.equal(await lc(events[12]!.id), '', 'an ASCII event is searched in its data');
      assert.notEqual(await lc(events[15]!.id), '', 'the non-ASCII event keeps its folded copy');
      // Rows written by earlier versions carry a folded copy whatever their text.
      await ctx.current.sequelize.query('UPDATE audit_events SET search_lc = lower(data) WHERE id = $1', { bind: [events[12]!.id] });
      try {
        assert.deepEqual(ids(await audit().query(all({ searchText: 'NEEDLE' }))), [events[12]!.id]);
      } finally {
        await ctx.current.sequelize.query(`UPDATE audit_events SET search_lc = '' WHERE id = $1`, { bind: [events[12]!.id] });
      }
    });

    it('treats % and _ in the search text literally', async function () {
      assert.deepEqual(ids(await audit().query(all({ searchText: '100%' }))), [events[10]!.id]);
      assert.deepEqual(ids(await audit().query(all({ searchText: 'disk 1%' }))), []);
      assert.deepEqual(ids(await audit().query(all({ searchText: 'snake_case' }))), [events[13]!.id]);
    });

    it('combines the search with services and the time range', async function () {
      assert.deepEqual(ids(await audit().query(all({ searchText: 'ou=users', services: ['ldap'] }))), expectIds((e) => e.service === 'ldap'));
      assert.deepEqual(await audit().query(all({ searchText: 'ou=users', services: ['radius'] })), []);
    });

    it('matches all terms on indexed fields with mode and', async function () {
      const got = await audit().query(
        all({ match: { mode: 'and', terms: [{ path: 'username', value: 'user3' }, { path: 'event_type', value: 'radius_auth_attempt' }] } }),
      );
      const want = expectIds((e) => e.username === 'user3' && e.event_type === 'radius_auth_attempt');
      assert.ok(want.length > 0);
      assert.deepEqual(ids(got), want);
    });

    it('matches any term with mode or', async function () {
      const got = await audit().query(all({ match: { mode: 'or', terms: [{ path: 'username', value: 'user3' }, { path: 'username', value: 'user4' }] } }));
      assert.deepEqual(ids(got), expectIds((e) => e.username === 'user3' || e.username === 'user4'));
    });

    it('matches the success flag given as a boolean or as text', async function () {
      const failures = expectIds((e) => e.success === false);
      assert.equal(failures.length, 200);
      assert.deepEqual(ids(await audit().query(all({ match: { mode: 'and', terms: [{ path: 'success', value: false }] } }))), failures);
      assert.deepEqual(ids(await audit().query(all({ match: { mode: 'and', terms: [{ path: 'success', value: 'false' }] } }))), failures);
      assert.equal((await audit().query(all({ match: { mode: 'and', terms: [{ path: 'success', value: true }] } }))).length, 400);
    });

    it('matches nested fields: resource.id and initiated_by.type', async function () {
      assert.deepEqual(
        ids(await audit().query(all({ match: { mode: 'and', terms: [{ path: 'resource.id', value: 'res4' }] } }))),
        expectIds((e) => e.resource?.id === 'res4'),
      );
      assert.deepEqual(
        ids(
          await audit().query(
            all({
              services: ['directory', 'ldap'],
              match: { mode: 'and', terms: [{ path: 'initiated_by.type', value: 'admin' }, { path: 'success', value: false }] },
            }),
          ),
        ),
        expectIds((e) => e.initiated_by.type === 'admin' && e.success === false),
      );
    });
  });

  describe(`AuditRepository appends (${target})`, function () {
    const ctx = useTestStore(target);
    const window = (n: number): AuditQuery => ({
      services: 'all',
      startTime: new Date(T0.getTime() - 1000),
      endTime: new Date(T0.getTime() + n * 1000),
      limit: 100_000,
      skip: 0,
    });
    const many = (n: number) => Array.from({ length: n }, (_, i) => makeAuditEvent({ timestamp: new Date(T0.getTime() + i).toISOString(), username: `u${i}` }));

    it('stores a backlog larger than one statement can bind (17 values per event)', async function () {
      this.timeout(60_000);
      // 2 500 events = 42 500 values: over SQLite's 32 766 bound-value limit for one statement.
      const events = many(2_500);
      await ctx.store.repos.audit.append(events);
      const got = await ctx.store.repos.audit.query(window(10));
      assert.equal(got.length, 2_500);
      assert.deepEqual(new Set(got.map((e) => e.id)), new Set(events.map((e) => e.id)));
    });

    // Any text: escapes, lone surrogates, line separators, non-ASCII that folds. Then text that the
    // indexed copies keep as it is (no NUL, no lone surrogate, short): the store takes those copies
    // out of the event itself, where the other events have theirs made first.
    const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 24 }), fc.constantFrom('x"y\\z', '\u2028', '\ud800', 'Zoë ÜNÏ', 'ǅ', 'a\u0000b', 'x'.repeat(300)));
    // No surrogate (paired or not), no NUL, within the narrowest column (16): every event of that run
    // goes the extracting way, whatever its other fields hold.
    const keptText = anyText.map((t) => t.replace(/[\ud800-\udfff\0]/g, '').slice(0, 16));
    for (const [kind, text] of [
      ['any text', anyText],
      ['text kept as it is', keptText],
    ] as const) {
      it(`stores each event as its exact JSON text, with its indexed fields and folded copy (${kind})`, async function () {
        this.timeout(60_000);
        // Numbers of every form JSON.stringify writes (1e+21, 0.30000000000000004, -0 as 0).
        const extra = fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(anyText, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(anyText, { maxLength: 3 })), { maxKeys: 4 });
        let n = 0;
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.record({ username: text, name: text, by: fc.option(fc.record({ id: text, type: text, email: text }, { requiredKeys: ['type'] })), extra, success: fc.boolean() }), { minLength: 1, maxLength: 5 }),
            async (specs) => {
              const events = specs.map(({ username, name, by, extra, success }) => {
                const at = T0.getTime() + n++;
                const e = makeAuditEvent({ timestamp: new Date(at).toISOString(), username, success, resource: { id: 'r1', type: 'user', name } });
                // Typed as an actor; protocol fields reach the store as they came.
                const loose = e as unknown as Record<string, unknown>;
                if (by) loose.initiated_by = by;
                else delete loose.initiated_by;
                // The event's own fields stay as built; the random keys only add to it.
                for (const [k, v] of Object.entries(extra)) if (!(k in e)) (e as Record<string, unknown>)[k] = v;
                return e;
              });
              await ctx.store.repos.audit.append(events);
              for (const e of events) {
                const [row] = await ctx.current.sequelize.query<Record<string, unknown>>('SELECT * FROM audit_events WHERE id = $1', { bind: [e.id], type: QueryTypes.SELECT });
                const json = JSON.stringify(e);
                assert.equal(row!.data, json);
                assert.equal(row!.search_lc, /^[\x00-\x7f]*$/.test(json) ? '' : fold(json));
                // The column's width: 64 for ids and addresses, 16 and 32 for types, 256 for names.
                const indexed = (v: unknown, width = 256) => (typeof v !== 'string' ? '' : v.slice(0, width).toWellFormed().replaceAll('\0', '\ufffd'));
                const by = e.initiated_by as unknown as Record<string, unknown> | undefined;
                const res = e.resource as unknown as Record<string, unknown> | undefined;
                assert.deepEqual(
                  { id: row!.id, ts: Number(row!.ts), event_type: row!.event_type, service: row!.service, success: Boolean(row!.success) },
                  { id: e.id, ts: Date.parse(e.timestamp), event_type: e.event_type, service: e.service, success: e.success },
                );
                assert.deepEqual(
                  [row!.client_ip, row!.username, row!.initiated_by_id, row!.initiated_by_type, row!.initiated_by_username, row!.initiated_by_email],
                  [indexed(e.client_ip, 64), indexed(e.username), indexed(by?.id, 64), indexed(by?.type, 16), indexed(by?.username), indexed(by?.email)],
                );
                assert.deepEqual(
                  [row!.resource_id, row!.resource_type, row!.resource_username, row!.resource_name],
                  [indexed(res?.id, 64), indexed(res?.type, 32), indexed(res?.username), indexed(res?.name)],
                );
              }
            },
          ),
          { numRuns: 60 },
        );
      });
    }

    it('answers a batch with a row it refuses as invalid (not as a store that is down), and stores none of it', async function () {
      const good = makeAuditEvent();
      // No event type: the column is NOT NULL. An id longer than its column: PostgreSQL's VARCHAR(24).
      const bad = [{ ...makeAuditEvent(), event_type: undefined } as unknown as AuditEvent];
      if (target === 'postgres') bad.push({ ...makeAuditEvent(), id: 'x'.repeat(30) });
      for (const b of bad) {
        await assert.rejects(ctx.store.repos.audit.append([good, b]), (err: unknown) => isDomainError(err) && err.kind === 'invalid' && err.code === 'audit.refused');
      }
      // An event JSON cannot carry (a BigInt among protocol fields) fails every time, before any statement.
      const unwritable = { ...makeAuditEvent(), octets: 10n } as unknown as AuditEvent;
      await assert.rejects(ctx.store.repos.audit.append([good, unwritable]), (err: unknown) => isDomainError(err) && err.code === 'audit.refused');
      assert.deepEqual(await ctx.store.repos.audit.query({ services: 'all', startTime: new Date(0), endTime: new Date(8.64e15), limit: 10, skip: 0, ascending: false }).then((r) => r.filter((e) => e.id === good.id)), []);
      // Nesting SQLite's JSON will not read (over 1,000 deep): refused there; PostgreSQL keeps the text.
      let deep: unknown = 'bottom';
      for (let i = 0; i < 1100; i++) deep = [deep];
      const nested = { ...makeAuditEvent(), deep } as unknown as AuditEvent;
      if (target === 'sqlite') await assert.rejects(ctx.store.repos.audit.append([nested]), (err: unknown) => isDomainError(err) && err.code === 'audit.refused');
      else await ctx.store.repos.audit.append([nested]);
      // Inside a transaction (an admin change and its event) the store's own error fails the change.
      await assert.rejects(
        ctx.store.transaction((tx) => tx.audit.append([bad[0]!])),
        (err: unknown) => !isDomainError(err) || err.code !== 'audit.refused',
      );
    });

    it('inserts only what is missing when a batch is retried after a partial write', async function () {
      const events = many(30);
      await ctx.store.repos.audit.append(events.slice(0, 10));
      await ctx.store.repos.audit.append(events);
      const got = await ctx.store.repos.audit.query(window(10));
      assert.equal(got.length, 30);
    });
  });
}

for (const target of storeTargets()) {
  describe(`AuditRepository.purge (${target})`, function () {
    this.timeout(60_000);
    const ctx = useTestStore(target);
    const audit = () => ctx.store.repos.audit;
    const every = (): AuditQuery => ({ services: 'all', startTime: new Date(0), endTime: new Date(T0.getTime() + 100 * 86_400_000), limit: 100_000, skip: 0 });
    const seed = async (n: number, stepMs: number) => {
      const events = Array.from({ length: n }, (_, i) => makeAuditEvent({ timestamp: new Date(T0.getTime() + i * stepMs).toISOString() }));
      await audit().append(events);
      return events;
    };

    it('deletes the events older than a date, in batches, and keeps the rest', async () => {
      // 12,000 events one second apart: more than two delete batches (5,000 rows each).
      const events = await seed(12_000, 1000);
      const cut = new Date(T0.getTime() + 11_000 * 1000);
      assert.deepEqual(await audit().purge({ before: cut }), { expired: 11_000, overLimit: 0 });
      const left = await audit().query(every());
      assert.deepEqual(left.map((e) => e.id).sort(), events.slice(11_000).map((e) => e.id).sort());
      assert.deepEqual(await audit().purge({ before: cut }), { expired: 0, overLimit: 0 }, 'nothing more to delete');
    });

    it('keeps at most the newest N events of each bulk type, and never deletes other types for count', async () => {
      const at = (i: number) => new Date(T0.getTime() + i * 60_000).toISOString();
      const searches = Array.from({ length: 300 }, (_, i) => makeAuditEvent({ timestamp: at(i), event_type: 'ldap_search', service: 'ldap' }));
      const accounting = Array.from({ length: 30 }, (_, i) => makeAuditEvent({ timestamp: at(i), event_type: 'radius_accounting', service: 'radius' }));
      const binds = Array.from({ length: 200 }, (_, i) => makeAuditEvent({ timestamp: at(i), event_type: 'ldap_bind', service: 'ldap' }));
      await audit().append([...searches, ...accounting, ...binds]);
      const bulk = { eventTypes: ['ldap_search', 'radius_accounting'], keep: 120 };
      assert.deepEqual(await audit().purge({ bulk }), { expired: 0, overLimit: 180 });
      const left = await audit().query(every());
      const ids = (type: string) => left.filter((e) => e.event_type === type).map((e) => e.id).sort();
      assert.deepEqual(ids('ldap_search'), searches.slice(180).map((e) => e.id).sort(), 'the newest 120 searches');
      assert.equal(ids('radius_accounting').length, 30, 'under the limit: untouched');
      assert.equal(ids('ldap_bind').length, 200, 'authentication events are not deleted for count, however many');
      assert.deepEqual(await audit().purge({ bulk }), { expired: 0, overLimit: 0 });
      assert.deepEqual(await audit().purge({ bulk: { ...bulk, keep: 1000 }, before: T0 }), { expired: 0, overLimit: 0 }, 'under both bounds: nothing');
    });

    it('sizes the table up from the rowid index’s edges, without reading its rows (SQLite)', async function () {
      if (target !== 'sqlite') this.skip();
      await seed(3000, 1000);
      const plan = await ctx.current.sequelize.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${SQLITE_ROWID_SPAN}`, { type: QueryTypes.SELECT });
      const details = plan.map((r) => r.detail);
      assert.ok(details.filter((d) => d.startsWith('SEARCH audit_events')).length === 2, details.join('; '));
      assert.ok(!details.some((d) => d.startsWith('SCAN audit_events')), `no scan of the table: ${details.join('; ')}`);
      const [span] = await ctx.current.sequelize.query<{ n: number }>(SQLITE_ROWID_SPAN, { type: QueryTypes.SELECT });
      assert.equal(span!.n, 3000);
      await ctx.current.sequelize.query('DELETE FROM audit_events');
      const [none] = await ctx.current.sequelize.query<{ n: number }>(SQLITE_ROWID_SPAN, { type: QueryTypes.SELECT });
      assert.equal(none!.n, 0, 'an empty table spans nothing');
    });

    it('stops between batches when told to', async () => {
      await seed(12_000, 1000);
      let batches = 0;
      const r = await audit().purge({ before: new Date(T0.getTime() + 12_000 * 1000), keepGoing: () => batches++ < 1 });
      assert.deepEqual(r, { expired: 5000, overLimit: 0 }, 'one batch, then stopped');
    });
  });
}
