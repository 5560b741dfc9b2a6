import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { BerWriter as LdaptsBerWriter, FilterParser } from 'ldapts';
import type { DirectoryFilter } from '../../../src/core/directory/filter.js';
import type { User } from '../../../src/core/directory/types.js';
import { attributeMap, toUserEntry } from '../../../src/ldap/entries.js';
import { compareCodePoints, matchesEntry, toUserFilter, type TranslationContext } from '../../../src/ldap/filter.js';
import { createTree } from '../../../src/ldap/tree.js';
import { filterToSql, sortToSql, type ColumnMap } from '../../../src/store/filter-sql.js';
import { makeCredentials, makeUser } from '../../helpers/factories.js';
import { storeTargets, TEST_DATABASE_URL_ENV, useTestStore } from '../../helpers/test-store.js';

const requireCjs = createRequire(import.meta.url);
const { parseBer } = requireCjs('@ldapjs/filter') as typeof import('@ldapjs/filter');
const { BerReader } = requireCjs('@ldapjs/asn1') as typeof import('@ldapjs/asn1');

const ORG = '0123456789abcdef01234567';
const ctx: TranslationContext = { tree: createTree(ORG, 'dc=gatehouse,dc=local'), homeDirectoryPrefix: '/home/', loginShell: '/bin/bash' };

function wire(s: string) {
  const w = new LdaptsBerWriter();
  FilterParser.parseString(s).write(w);
  return parseBer(new BerReader(w.buffer));
}

/** What an LDAP client sees of `u` (the entry the filter must agree with). */
const shown = (u: User) => attributeMap(toUserEntry(ctx.tree, { user: u, groupNames: [] }, ctx));

/**
 * Users whose sn and displayName come from fallbacks (entries.ts: sn = lastname || username,
 * displayName = displayname || cn, cn = "first last" || displayname || username), with text whose
 * order differs between UTF-16 units, code points and locales.
 */
const CAST: Partial<User>[] = [
  { username: 'nolast', firstname: 'Nora', lastname: '', displayname: '' },
  { username: 'fay', firstname: 'Fay', lastname: 'Zephyr', displayname: '' },
  { username: 'mo', firstname: '', lastname: '', displayname: '' },
  { username: 'boss', firstname: 'Bo', lastname: 'Ss', displayname: 'The Boss' },
  { username: 'emile', firstname: 'Émile', lastname: 'Émile', displayname: 'Émile Zola' },
  { username: 'astral', firstname: '', lastname: '\u{1D49C}bc', displayname: '\uFB00ord' },
  { username: 'punct', firstname: 'A', lastname: 'a-b', displayname: '' },
  { username: 'under', firstname: 'A', lastname: 'a_c', displayname: '' },
];

/**
 * Every filter here is answered twice: by the store (translated, then SQL) and by the in-memory
 * matcher on the entry as shown. The two must agree (RFC 4511 §4.5.1.7: a filter is evaluated
 * against the entry's attribute values).
 */
const FILTERS = [
  '(sn=nolast)',
  '(sn=NOLAST)',
  '(sn=mo)',
  '(sn=zephyr)',
  '(sn=)',
  '(sn=*)',
  '(!(sn=*))',
  '(!(sn=nolast))',
  '(sn=no*)',
  '(sn=*las*)',
  '(sn=*o)',
  '(sn~=NOLAST)',
  '(sn>=n)',
  '(sn<=n)',
  '(sn>=f)',
  '(sn>=\uFB00)',
  '(sn<=a_b)',
  '(sn>=a-c)',
  '(!(sn<=m))',
  '(sn:caseExactMatch:=nolast)',
  '(sn:caseExactMatch:=Zephyr)',
  '(sn:caseExactMatch:=zephyr)',
  '(displayName=nora)',
  '(displayName=fay zephyr)',
  '(displayName=mo)',
  '(displayName=the boss)',
  '(displayName=*boss*)',
  '(displayName=*)',
  '(displayName=)',
  '(displayName>=f)',
  '(displayName<=f)',
  '(displayName>=\uFB00)',
  '(!(displayName=*o*))',
  '(|(sn=nolast)(displayName=mo))',
  '(&(sn=*)(displayName=*z*))',
  '(cn=*a*)',
  '(cn>=m)',
  '(givenName=*)',
  '(constructor=x)',
  '(!(constructor=x))',
  '(|(uid=mo)(constructor:=x))',
];

for (const target of storeTargets()) {
  describe(`LDAP filters agree with the entries they select (${target})`, function () {
    const tstore = useTestStore(target);
    const users: User[] = [];

    beforeEach(async () => {
      users.length = 0;
      for (const o of CAST) {
        const u = makeUser(o);
        await tstore.store.repos.users.create(u, makeCredentials());
        users.push(u);
      }
    });

    it('selects, for each filter, exactly the users whose shown entry matches it', async () => {
      const disagreements: string[] = [];
      for (const f of FILTERS) {
        const translated = toUserFilter(wire(f), ctx);
        const page = await tstore.store.repos.users.query({ filter: translated, limit: 100, offset: 0, withTotal: false });
        const fromStore = page.items.map((u) => u.username).sort();
        const fromEntries = users.filter((u) => matchesEntry(wire(f), shown(u)) === true).map((u) => u.username).sort();
        if (JSON.stringify(fromStore) !== JSON.stringify(fromEntries)) disagreements.push(`${f}: store ${JSON.stringify(fromStore)}, entries ${JSON.stringify(fromEntries)}`);
      }
      assert.deepEqual(disagreements, []);
    });

    it('finds a user without a last name by the sn its entry shows (the username)', async () => {
      const nolast = users.find((u) => u.username === 'nolast')!;
      assert.deepEqual(shown(nolast).get('sn'), ['nolast']);
      const page = await tstore.store.repos.users.query({ filter: toUserFilter(wire('(sn=nolast)'), ctx), limit: 10, offset: 0 });
      assert.deepEqual(
        page.items.map((u) => u.username),
        ['nolast'],
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL with a locale collation: COLLATE "C" keeps text order the same as SQLite's.

interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
const pg = requireCjs('pg') as { Client: new (config: { connectionString: string }) => PgClient };

const pgUrl = process.env[TEST_DATABASE_URL_ENV];

(pgUrl ? describe : describe.skip)('text ordering on a PostgreSQL database with an ICU locale (filter-sql.ts)', function () {
  this.timeout(30_000);
  const name = `gh_contract_collation_${process.pid}_${randomBytes(4).toString('hex')}`;
  const at = (db: string) => {
    const u = new URL(pgUrl!);
    u.pathname = `/${db}`;
    return u.toString();
  };
  let admin: PgClient;
  let db: PgClient;
  type A = 'name';
  const columns: ColumnMap<A> = { name: { expr: 't.name', kind: 'lower' } };
  const values = ['a-b', 'a_c', 'ab', 'émile', 'f', 'zed', '\uFB00ord', '\u{1D49C}bc', 'b', '1'];

  before(async function () {
    admin = new pg.Client({ connectionString: at('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' ENCODING 'UTF8'`);
    } catch {
      await admin.end();
      // An ICU-less server cannot show the difference; nothing to test there.
      this.skip();
    }
    db = new pg.Client({ connectionString: at(name) });
    await db.connect();
    await db.query('CREATE TABLE t (name text)');
    for (const v of values) await db.query('INSERT INTO t (name) VALUES ($1)', [v]);
  });

  after(async () => {
    await db?.end().catch(() => undefined);
    await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin?.end().catch(() => undefined);
  });

  const select = async (f: DirectoryFilter<A> | undefined, dialect: 'sqlite' | 'postgres') => {
    const params: (string | number | boolean | null)[] = [];
    const where = f ? filterToSql(f, columns, params, dialect) : '1 = 1';
    const r = await db.query(`SELECT t.name FROM t WHERE ${where} ORDER BY ${sortToSql([{ attr: 'name', desc: false }], columns, 't.name', dialect)}`, params);
    return r.rows.map((x) => String(x.name));
  };

  it('orders and compares like the in-memory matcher (code points), where the locale would not', async () => {
    const byCodePoint = [...values].sort(compareCodePoints);
    assert.deepEqual(await select(undefined, 'postgres'), byCodePoint);
    assert.notDeepEqual(await select(undefined, 'sqlite'), byCodePoint, 'the locale orders differently (else this test shows nothing)');
    for (const pivot of ['f', 'a_c', '\uFB00']) {
      const expected = byCodePoint.filter((v) => compareCodePoints(v, pivot) >= 0);
      assert.deepEqual(await select({ op: 'gte', attr: 'name', value: pivot }, 'postgres'), expected, `>= ${pivot}`);
    }
  });

  it('pages by keyset without skipping or repeating a row', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const params: (string | number | boolean | null)[] = [];
      const where = after === undefined ? '1 = 1' : filterToSql({ op: 'gt', attr: 'name', value: after }, columns, params, 'postgres');
      const r = await db.query(`SELECT t.name FROM t WHERE ${where} ORDER BY ${sortToSql([{ attr: 'name', desc: false }], columns, 't.name', 'postgres')} LIMIT 3`, params);
      if (r.rows.length === 0) break;
      for (const x of r.rows) seen.push(String(x.name));
      after = seen.at(-1);
    }
    assert.deepEqual(seen, [...values].sort(compareCodePoints));
  });
});
