import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { storeUnavailable } from '../../../src/core/errors.js';
import { AccessLog } from '../../../src/http/plugins/access-log.js';
import { registerErrorHandling } from '../../../src/http/plugins/errors.js';

/**
 * While the store is down every request fails alike: each answers 503 with a JSON body, and the log
 * gets one line a while, not one per request (a database restart logged ~1,200 lines in seconds).
 */
describe('HTTP requests while the store is unavailable', () => {
  it('answer 503 JSON each, and are logged once for a burst', async () => {
    const lines: { level: number; msg: string; suppressed?: number }[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const logger: FastifyBaseLogger = pino({ level: 'info' }, stream);
    // With the appliance's access log, which must not add a line per failed request either.
    const app = Fastify({ loggerInstance: logger, logController: new AccessLog() });
    registerErrorHandling(app);
    app.get('/users', async () => {
      throw storeUnavailable();
    });
    try {
      for (let i = 0; i < 50; i++) {
        const r = await app.inject({ method: 'GET', url: '/users' });
        assert.equal(r.statusCode, 503);
        assert.deepEqual(r.json(), { code: 503, message: 'the directory store is unavailable', status: 'UNAVAILABLE' });
      }
      const about = lines.filter((l) => /store is unavailable/.test(l.msg));
      assert.equal(about.length, 1, `${about.length} lines about it`);
      assert.equal(lines.length, 1, `${lines.length} lines in all`);
      assert.equal(about[0]!.level, 40, 'a warning: the cause is outside the process');
    } finally {
      await app.close();
    }
  });
});
