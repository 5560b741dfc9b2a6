import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';

/** The JSON lines a logger writes. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, log: createLogger('info', stream) };
}

describe('logger (src/logger.ts)', () => {
  it('keeps only the path of a request URL: query strings carry reset tokens and misplaced keys', () => {
    const { lines, log } = capture();
    log.info({ req: { method: 'GET', url: '/account/set-password?token=SECRET-TOKEN-1', host: 'h', remoteAddress: '127.0.0.1', remotePort: 5 } }, 'incoming request');
    log.info({ req: { method: 'GET', url: '/api/systemusers?x-api-key=SECRET-KEY-2' } }, 'incoming request');
    log.info({ req: { method: 'GET', url: '/health' } }, 'incoming request');
    assert.equal(lines.length, 3);
    assert.ok(!lines.join('').includes('SECRET'), lines.join(''));
    const first = JSON.parse(lines[0]!) as { req: Record<string, unknown> };
    assert.deepEqual(first.req, { method: 'GET', url: '/account/set-password?[redacted]', host: 'h', remoteAddress: '127.0.0.1', remotePort: 5 });
    assert.equal((JSON.parse(lines[2]!) as { req: { url: string } }).req.url, '/health');
  });

  it('redacts API keys, cookies and password fields', () => {
    const { lines, log } = capture();
    log.info({ req: { headers: { 'x-api-key': 'SECRET-3', cookie: 'gh_session=SECRET-4' } }, password: 'SECRET-5', user: { password: 'SECRET-6' } }, 'x');
    assert.ok(!lines.join('').includes('SECRET'), lines.join(''));
  });
});
