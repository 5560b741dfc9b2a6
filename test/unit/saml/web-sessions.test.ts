import assert from 'node:assert/strict';
import { createMemorySsoRepositories } from '../../../src/core/sso/memory-repositories.js';
import { createWebSessionService, MAX_SESSIONS_PER_SUBJECT, sessionIdHash } from '../../../src/core/sso/web-sessions.js';
import { createFakeClock } from '../../helpers/fake-clock.js';

describe('web sessions (core)', () => {
  const policy = { idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600 };
  const setup = () => {
    const clock = createFakeClock();
    const repos = createMemorySsoRepositories();
    return { clock, repos, sessions: createWebSessionService({ repo: repos.webSessions, clock }) };
  };

  it('stores only the SHA-256 of the token', async () => {
    const { repos, sessions } = setup();
    const { token, session } = await sessions.start('user', 'u1', { a: 1 }, policy);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(session.idHash, sessionIdHash(token));
    assert.equal(await repos.webSessions.get(token), null);
    assert.ok(await repos.webSessions.get(sessionIdHash(token)));
  });

  it('regenerates: starting a session that replaces another ends the old token', async () => {
    const { sessions } = setup();
    const anon = await sessions.start('user', '', { pending: true }, policy);
    const signedIn = await sessions.start('user', 'u1', {}, policy, anon.token);
    assert.notEqual(signedIn.token, anon.token);
    assert.equal(await sessions.resume('user', anon.token), null);
    assert.equal((await sessions.resume('user', signedIn.token))?.subjectId, 'u1');
  });

  it('ends a session after the idle timeout, and after the absolute one despite activity', async () => {
    const { clock, sessions } = setup();
    const idle = await sessions.start('user', 'u1', {}, policy);
    clock.advanceSeconds(599);
    assert.ok(await sessions.resume('user', idle.token));
    clock.advanceSeconds(601);
    assert.equal(await sessions.resume('user', idle.token), null);

    const busy = await sessions.start('user', 'u1', {}, policy);
    for (let i = 0; i < 7; i++) {
      clock.advanceSeconds(500);
      assert.ok(await sessions.resume('user', busy.token), `ended early at ${i}`);
    }
    clock.advanceSeconds(200); // 3700 s after sign-in, 200 s after the last request
    assert.equal(await sessions.resume('user', busy.token), null);
  });

  it('keeps user and admin sessions apart, and refuses malformed tokens', async () => {
    const { sessions } = setup();
    const { token } = await sessions.start('admin', 'a1', {}, policy);
    assert.equal(await sessions.resume('user', token), null);
    assert.ok(await sessions.resume('admin', token));
    assert.equal(await sessions.resume('admin', `${token}x`), null);
    assert.equal(await sessions.resume('admin', ''), null);
  });

  it('ends every other session of a subject', async () => {
    const { sessions } = setup();
    const a = await sessions.start('user', 'u1', {}, policy);
    const b = await sessions.start('user', 'u1', {}, policy);
    const c = await sessions.start('user', 'u2', {}, policy);
    assert.equal(await sessions.endAllFor('user', 'u1', a.token), 1);
    assert.ok(await sessions.resume('user', a.token));
    assert.equal(await sessions.resume('user', b.token), null);
    assert.ok(await sessions.resume('user', c.token));
  });
});

describe('sessions per subject (core with the memory and SQL stores)', () => {
  const policy = { idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600 };
  const cases: [string, () => Promise<{ repo: import('../../../src/core/ports.js').WebSessionRepository; close(): Promise<void> }>][] = [
    ['memory', async () => ({ repo: createMemorySsoRepositories().webSessions, close: async () => undefined })],
    [
      'sqlite',
      async () => {
        const { mkdtempSync, rmSync } = await import('node:fs');
        const { tmpdir } = await import('node:os');
        const { join } = await import('node:path');
        const { openStore } = await import('../../../src/store/index.js');
        const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sessions-'));
        const opened = await openStore({ databaseUrl: '', dataDir: dir });
        return {
          repo: opened.sso.webSessions,
          close: async () => {
            await opened.store.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    ],
  ];
  if (process.env.GATEHOUSE_TEST_DATABASE_URL) {
    cases.push([
      'postgres',
      async () => {
        const { emptyPostgresDatabase } = await import('../../helpers/test-store.js');
        const { openStore } = await import('../../../src/store/index.js');
        const db = await emptyPostgresDatabase();
        const opened = await openStore({ databaseUrl: db.url, dataDir: '' });
        return {
          repo: opened.sso.webSessions,
          close: async () => {
            await opened.store.close();
            await db.drop();
          },
        };
      },
    ]);
  }
  for (const [name, open] of cases) {
    it(`keeps the newest ${MAX_SESSIONS_PER_SUBJECT} sessions of a user, ending the oldest at each sign-in beyond (${name})`, async function () {
      this.timeout(20_000);
      const clock = createFakeClock();
      const { repo, close } = await open();
      try {
        const sessions = createWebSessionService({ repo, clock });
        const tokens: string[] = [];
        for (let i = 0; i < MAX_SESSIONS_PER_SUBJECT + 5; i++) {
          tokens.push((await sessions.start('user', 'u1', {}, policy)).token);
          clock.advanceSeconds(1);
        }
        const other = await sessions.start('user', 'u2', {}, policy);
        const alive = [];
        for (const t of tokens) alive.push((await sessions.resume('user', t)) !== null);
        assert.deepEqual(alive, [...Array(5).fill(false), ...Array(MAX_SESSIONS_PER_SUBJECT).fill(true)]);
        assert.ok(await sessions.resume('user', other.token), "another user's session is untouched");
      } finally {
        await close();
      }
    });
  }
});
