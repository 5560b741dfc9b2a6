import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, assertNoSecrets, HEX24, MISSING_ID, rawApi } from './support.js';

const SHORT_SECRET = 'tenchars10';
const LONG_SECRET = 'a-long-enough-shared-secret-20';

describe('RADIUS servers (v1)', function () {
  let run: RunningAppliance;
  // `any`: RADIUS server JSON as the API returns it.
  let wifi: any;
  let generated: string;

  before(async function () {
    run = await startAppliance();
  });

  after(async function () {
    await run?.stop();
  });

  const mentions16 = (warnings: string[]) => warnings.some((w) => /\b16\b/.test(w));

  describe('POST /api/radiusservers', function () {
    it('generates a 32-character sharedSecret, shown once, when none is given', async function () {
      const res = await run.api('POST', '/api/radiusservers', { name: 'wifi', networkSourceIp: '10.20.0.0/16' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      wifi = res.body;
      assert.match(wifi._id, HEX24);
      assert.equal(wifi.name, 'wifi');
      assert.equal(wifi.networkSourceIp, '10.20.0.0/16');
      assert.equal(typeof wifi.sharedSecret, 'string');
      assert.equal(wifi.sharedSecret.length, 32);
      assert.match(wifi.sharedSecret, /^[\x21-\x7e]{32}$/);
      assert.ok(['DISABLED', 'ENABLED', 'REQUIRED', 'ALWAYS'].includes(wifi.mfa), wifi.mfa);
      assert.ok(Array.isArray(wifi.warnings));
      assert.ok(!mentions16(wifi.warnings), `warnings: ${JSON.stringify(wifi.warnings)}`);
      generated = wifi.sharedSecret;
    });

    it('generates a different secret for each server', async function () {
      const res = await run.api('POST', '/api/radiusservers', { name: 'vpn', networkSourceIp: '192.0.2.10' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.sharedSecret.length, 32);
      assert.notEqual(res.body.sharedSecret, generated);
    });

    it('warns that a 10-character secret is shorter than 16 characters', async function () {
      const res = await run.api('POST', '/api/radiusservers', { name: 'legacy-switch', networkSourceIp: '192.0.2.20', sharedSecret: SHORT_SECRET });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.ok(mentions16(res.body.warnings), `warnings: ${JSON.stringify(res.body.warnings)}`);
      const again = await run.api('GET', `/api/radiusservers/${res.body._id}`);
      assert.ok(mentions16(again.body.warnings), 'the warning stays on GET');
    });

    it('does not warn about the length of a 30-character secret', async function () {
      const res = await run.api('POST', '/api/radiusservers', { name: 'core-switch', networkSourceIp: '192.0.2.30', sharedSecret: LONG_SECRET });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.ok(!mentions16(res.body.warnings), `warnings: ${JSON.stringify(res.body.warnings)}`);
    });

    for (const ip of ['10.0.0.0/33', 'bogus', '300.1.1.1', '10.0.0.1/', '::1/129']) {
      it(`refuses networkSourceIp ${JSON.stringify(ip)} with 400`, async function () {
        assertError(await run.api('POST', '/api/radiusservers', { name: `bad-${ip}`, networkSourceIp: ip }), 400, 'networkSourceIp');
      });
    }

    it('accepts an IPv6 CIDR block', async function () {
      const res = await run.api('POST', '/api/radiusservers', { name: 'v6', networkSourceIp: '2001:db8::/48' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });

    it('refuses a duplicate networkSourceIp with 409', async function () {
      assertError(await run.api('POST', '/api/radiusservers', { name: 'wifi-2', networkSourceIp: '10.20.0.0/16' }), 409, 'networkSourceIp');
    });

    it('refuses a missing networkSourceIp with 400', async function () {
      assertError(await run.api('POST', '/api/radiusservers', { name: 'nowhere' }), 400, 'networkSourceIp');
    });

    const modes = ['DISABLED', 'ENABLED', 'REQUIRED', 'ALWAYS'];
    modes.forEach((mfa, i) => {
      it(`accepts mfa ${mfa}`, async function () {
        const res = await run.api('POST', '/api/radiusservers', { name: `mfa-${mfa.toLowerCase()}`, networkSourceIp: `198.51.100.${i + 1}`, mfa });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.mfa, mfa);
      });
    });

    it('refuses an unknown mfa mode with 400 naming mfa', async function () {
      assertError(await run.api('POST', '/api/radiusservers', { name: 'mfa-bad', networkSourceIp: '198.51.100.99', mfa: 'SOMETIMES' }), 400, 'mfa');
    });
  });

  describe('reading never shows the shared secret', function () {
    it('GET /api/radiusservers/{id} has no sharedSecret', async function () {
      const raw = await rawApi(run, 'GET', `/api/radiusservers/${wifi._id}`);
      assert.equal(raw.status, 200);
      const body = JSON.parse(raw.text);
      assert.equal(body._id, wifi._id);
      assert.ok(!('sharedSecret' in body), raw.text);
      assertNoSecrets(raw.text, [generated, SHORT_SECRET, LONG_SECRET], 'GET radius server');
    });

    it('GET /api/radiusservers lists servers without sharedSecret', async function () {
      const raw = await rawApi(run, 'GET', '/api/radiusservers');
      assert.equal(raw.status, 200);
      const body = JSON.parse(raw.text);
      assert.ok(body.totalCount >= 9, `totalCount ${body.totalCount}`);
      assert.equal(body.results.length, body.totalCount);
      for (const s of body.results) assert.ok(!('sharedSecret' in s), s.name);
      assertNoSecrets(raw.text, [generated, SHORT_SECRET, LONG_SECRET], 'list radius servers');
    });

    it('answers 404 for an unknown id', async function () {
      assertError(await run.api('GET', `/api/radiusservers/${MISSING_ID}`), 404);
    });
  });

  describe('PUT /api/radiusservers/{id}', function () {
    it('updates name and mfa and keeps the rest', async function () {
      const res = await run.api('PUT', `/api/radiusservers/${wifi._id}`, { name: 'wifi-campus', mfa: 'REQUIRED' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.name, 'wifi-campus');
      assert.equal(res.body.mfa, 'REQUIRED');
      assert.equal(res.body.networkSourceIp, '10.20.0.0/16');
      assert.ok(!('sharedSecret' in res.body));
      assert.equal((await run.api('GET', `/api/radiusservers/${wifi._id}`)).body.name, 'wifi-campus');
    });

    it('takes a new secret without echoing it', async function () {
      const raw = await rawApi(run, 'PUT', `/api/radiusservers/${wifi._id}`, { sharedSecret: 'another-long-secret-for-the-nas' });
      assert.equal(raw.status, 200, raw.text);
      assertNoSecrets(raw.text, ['another-long-secret-for-the-nas'], 'PUT radius server');
    });

    it('refuses a bad networkSourceIp or mfa with 400 and changes nothing', async function () {
      assertError(await run.api('PUT', `/api/radiusservers/${wifi._id}`, { networkSourceIp: '10.0.0.0/33' }), 400, 'networkSourceIp');
      assertError(await run.api('PUT', `/api/radiusservers/${wifi._id}`, { mfa: 'never' }), 400, 'mfa');
      const now = (await run.api('GET', `/api/radiusservers/${wifi._id}`)).body;
      assert.equal(now.networkSourceIp, '10.20.0.0/16');
      assert.equal(now.mfa, 'REQUIRED');
    });

    it('refuses moving onto another server’s networkSourceIp with 409', async function () {
      assertError(await run.api('PUT', `/api/radiusservers/${wifi._id}`, { networkSourceIp: '192.0.2.10' }), 409, 'networkSourceIp');
    });

    it('answers 404 for an unknown id', async function () {
      assertError(await run.api('PUT', `/api/radiusservers/${MISSING_ID}`, { name: 'ghost' }), 404);
    });
  });

  describe('DELETE /api/radiusservers/{id}', function () {
    it('deletes the server, then answers 404 and frees its address', async function () {
      const res = await run.api('DELETE', `/api/radiusservers/${wifi._id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assertError(await run.api('GET', `/api/radiusservers/${wifi._id}`), 404);
      assertError(await run.api('DELETE', `/api/radiusservers/${wifi._id}`), 404);
      const again = await run.api('POST', '/api/radiusservers', { name: 'wifi', networkSourceIp: '10.20.0.0/16' });
      assert.equal(again.status, 201, JSON.stringify(again.body));
    });
  });
});
