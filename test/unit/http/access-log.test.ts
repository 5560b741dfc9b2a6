import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { AccessLog } from '../../../src/http/plugins/access-log.js';

/**
 * The HTTP request log: one line per request, at debug level, with the path and the Host header cut
 * to 256 characters and no query string.
 */
describe('the HTTP access log', () => {
  const run = async (level: string, requests: { url: string; host?: string }[]) => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const logger: FastifyBaseLogger = pino({ level }, stream);
    const app = Fastify({ loggerInstance: logger, logController: new AccessLog() });
    app.get('/health', async () => ({ ok: true }));
    app.get('/boom', async (_req, reply) => reply.code(503).send({ down: true }));
    try {
      for (const r of requests) await app.inject({ method: 'GET', url: r.url, headers: r.host ? { host: r.host } : {} });
    } finally {
      await app.close();
    }
    return lines;
  };

  it('writes nothing per request at info level, a 503 included (its cause is logged where it arises)', async () => {
    const lines = await run('info', [{ url: '/health' }, { url: '/nope' }, { url: '/boom' }, { url: '/boom' }]);
    assert.deepEqual(lines, []);
  });

  it('writes one line per request at debug level, with the path and Host cut and no query string', async () => {
    const long = 'x'.repeat(16_000);
    const lines = await run('debug', [{ url: `/health?token=secret-token`, host: long }, { url: `/${long}` }]);
    const done = lines.filter((l) => l.msg === 'request completed');
    assert.equal(done.length, 2);
    assert.equal(lines.length, 2, 'no "incoming request" line');
    const [a, b] = done.map((l) => l.req as { url: string; host: string });
    assert.equal(a!.url, '/health');
    assert.ok(a!.host.length < 300 && a!.host.endsWith('[16000 chars]'), a!.host);
    assert.ok(b!.url.length < 300, `${b!.url.length}`);
    assert.ok(!JSON.stringify(lines).includes('secret-token'));
    assert.ok(JSON.stringify(lines).length < 2_000, 'a few hundred bytes a line, whatever the client sent');
  });
});
