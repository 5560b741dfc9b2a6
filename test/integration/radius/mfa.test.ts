import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { createFakeClock } from '../../helpers/fake-clock.js';
import { base32Decode, base32Encode, timeStep, totpAtStep } from '../../helpers/rfc6238.js';
import { Attr, Code, bind, buildAccessRequest, checkReply, createRadiusServer, createUser, radiusEvents, udpClient, type UdpClient } from './support.js';

const SECRET = 'mfa-integration-secret-0123456789';
const PASSWORD = 'Second-Factor-Trail-88';
const PROMPT = 'Enter the 6-digit code from your authenticator app';

describe('RADIUS TOTP: Access-Challenge, appended codes and the server MFA modes', function () {
  const clock = createFakeClock();
  let gh: RunningAppliance;
  let nas: UdpClient;
  let serverId: string;
  const seeds = new Map<string, Buffer>();

  const code = (user: string, stepOffset = 0) => totpAtStep(seeds.get(user)!, timeStep(clock.ms() / 1000) + stepOffset);
  const send = async (spec: Partial<Parameters<typeof buildAccessRequest>[0]>) => {
    // Audit events are listed newest first by time: keep each request's time distinct.
    clock.advance(1);
    const req = buildAccessRequest({ secret: SECRET, password: PASSWORD, ...spec });
    const raw = await nas.exchange(req);
    assert.ok(raw, 'no reply');
    const r = checkReply(req, raw, SECRET);
    assert.ok(r.messageAuthenticatorFirst && r.messageAuthenticatorValid && r.responseAuthenticatorValid, 'reply not signed as BlastRADIUS requires');
    return { req, raw, r };
  };
  const stateOf = (r: ReturnType<typeof checkReply>) => r.attributes.find((a) => a.type === Attr.State)?.value;
  const setMode = async (mfa: string) => {
    assert.equal((await gh.api('PUT', `/api/radiusservers/${serverId}`, { mfa })).status, 200);
    await gh.appliance.radius.refreshClients();
  };
  const user = async (name: string, extra: Record<string, unknown> = {}, enrol = false) => {
    const id = await createUser(gh, name, PASSWORD, extra);
    await bind(gh, { type: 'user', id }, serverId);
    if (enrol) {
      const seed = base32Encode(randomBytes(20));
      const r = await gh.api('POST', `/api/systemusers/${id}/totp`, { secret: seed });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      seeds.set(name, base32Decode(seed));
    }
    return id;
  };

  before(async function () {
    gh = await startAppliance({}, { clock });
    serverId = await createRadiusServer(gh, { sharedSecret: SECRET, mfa: 'ENABLED' });
    await user('dave', {}, true);
    await user('erin');
    await user('frank', { enable_user_portal_multifactor: true });
    await user('greta', { enable_user_portal_multifactor: true, mfa: { exclusion: true, exclusionUntil: new Date(clock.ms() + 7 * 86_400_000).toISOString() } });
    await user('hugo', { mfa: { exclusion: true } });
    nas = await udpClient(gh.radiusPort);
  });

  after(async () => {
    await nas?.close();
    await gh?.stop();
  });

  describe('ENABLED', () => {
    it('asks an enrolled user for a code with an Access-Challenge (State + Reply-Message)', async () => {
      const { r } = await send({ userName: 'dave' });
      assert.equal(r.code, Code.AccessChallenge);
      assert.match(stateOf(r)!.toString('latin1'), /^[0-9a-f]{32}$/);
      assert.equal(r.attributes.find((a) => a.type === Attr.ReplyMessage)?.value.toString(), PROMPT);
      const [e] = await radiusEvents(gh);
      assert.equal(e!.success, false);
      assert.equal(e!.error_message, 'MFA required');
      assert.equal(e!.nas_mfa_state, 'ENABLED');
    });

    it('refuses, says why and logs it when the Access-Challenge would exceed 4096 octets (kilobytes of Proxy-State)', async () => {
      // 4,000 octets of Proxy-State (the request still fits) leave the reply no room for State and prompt.
      const proxy = Array.from({ length: 16 }, (_, i) => (i < 15 ? Buffer.concat([Buffer.from([Attr.ProxyState, 252]), Buffer.alloc(250, i)]) : Buffer.concat([Buffer.from([Attr.ProxyState, 220]), Buffer.alloc(218, i)])));
      const { r } = await send({ userName: 'dave', extra: proxy });
      assert.equal(r.code, Code.AccessReject);
      const [e] = await radiusEvents(gh);
      assert.equal(e!.success, false);
      assert.match(e!.error_message, /Access-Challenge would exceed 4096 octets/);
      assert.equal(e!.username, 'dave');
    });

    it('accepts the code in User-Password with the same State, and a retransmission gets the same Accept', async () => {
      clock.advanceSeconds(30);
      const first = await send({ userName: 'dave' });
      const state = stateOf(first.r)!;
      const second = await send({ userName: 'dave', password: code('dave'), state });
      assert.equal(second.r.code, Code.AccessAccept);
      const events = await radiusEvents(gh);
      assert.equal(events[0]!.success, true);
      assert.equal(events[0]!.mfa, true);
      // The NAS lost the Accept and retransmits: the code is single use, but the cache answers.
      const again = await nas.exchange(second.req);
      assert.ok(again?.equals(second.raw), 'retransmission of the code round was not answered from the cache');
      assert.equal((await radiusEvents(gh)).length, events.length, 'retransmission processed again');
    });

    it('uses a State once: the same State with the next code is refused', async () => {
      clock.advanceSeconds(30);
      const first = await send({ userName: 'dave' });
      const state = stateOf(first.r)!;
      assert.equal((await send({ userName: 'dave', password: code('dave'), state })).r.code, Code.AccessAccept);
      clock.advanceSeconds(30);
      assert.equal((await send({ userName: 'dave', password: code('dave'), state })).r.code, Code.AccessReject);
      const [e] = await radiusEvents(gh);
      assert.equal(e!.error_message, 'unknown or expired challenge');
      // The trail names who the request claimed to be, so that the attempt can be attributed.
      assert.equal(e!.username, 'dave');
    });

    it('refuses a wrong code, and the State is spent by it', async () => {
      clock.advanceSeconds(30);
      const state = stateOf((await send({ userName: 'dave' })).r)!;
      const wrong = String((Number(code('dave')) + 1) % 1_000_000).padStart(6, '0');
      assert.equal((await send({ userName: 'dave', password: wrong, state })).r.code, Code.AccessReject);
      assert.equal((await send({ userName: 'dave', password: code('dave'), state })).r.code, Code.AccessReject);
    });

    it('refuses a State that has expired', async () => {
      clock.advanceSeconds(30);
      const state = stateOf((await send({ userName: 'dave' })).r)!;
      clock.advanceSeconds(121);
      assert.equal((await send({ userName: 'dave', password: code('dave'), state })).r.code, Code.AccessReject);
    });

    it('refuses a State answered under another User-Name', async () => {
      clock.advanceSeconds(30);
      const state = stateOf((await send({ userName: 'dave' })).r)!;
      assert.equal((await send({ userName: 'erin', password: code('dave'), state })).r.code, Code.AccessReject);
    });

    it('accepts a code appended to the password, once; the replayed code is refused', async () => {
      clock.advanceSeconds(30);
      const c = code('dave');
      assert.equal((await send({ userName: 'dave', password: `${PASSWORD};${c}` })).r.code, Code.AccessAccept);
      const replay = await send({ userName: 'dave', password: `${PASSWORD};${c}` });
      assert.equal(replay.r.code, Code.AccessReject);
      assert.equal((await radiusEvents(gh))[0]!.error_message, 'TOTP code already used');
    });

    it('does not challenge a user who has not enrolled', async () => {
      assert.equal((await send({ userName: 'erin' })).r.code, Code.AccessAccept);
    });
  });

  describe('DISABLED', () => {
    before(() => setMode('DISABLED'));

    it('accepts an enrolled user with the password alone', async () => {
      assert.equal((await send({ userName: 'dave' })).r.code, Code.AccessAccept);
    });
  });

  describe('REQUIRED', () => {
    before(() => setMode('REQUIRED'));

    it('refuses a user whose MFA is required but who has not enrolled, like any other failure', async () => {
      const { r } = await send({ userName: 'frank' });
      assert.equal(r.code, Code.AccessReject);
      assert.deepEqual(r.attributes.map((a) => a.type), [Attr.MessageAuthenticator]);
      assert.equal((await radiusEvents(gh))[0]!.error_message, 'MFA enrolment required');
    });

    it('accepts that user inside the enrolment grace period', async () => {
      assert.equal((await send({ userName: 'greta' })).r.code, Code.AccessAccept);
    });

    it('accepts a user without "Require User MFA" who has not enrolled', async () => {
      assert.equal((await send({ userName: 'erin' })).r.code, Code.AccessAccept);
    });

    it('challenges an enrolled user', async () => {
      assert.equal((await send({ userName: 'dave' })).r.code, Code.AccessChallenge);
    });
  });

  describe('ALWAYS', () => {
    before(() => setMode('ALWAYS'));

    it('refuses every user without TOTP outside a grace period, a permanent exclusion included', async () => {
      assert.equal((await send({ userName: 'erin' })).r.code, Code.AccessReject);
      assert.equal((await send({ userName: 'hugo' })).r.code, Code.AccessReject);
    });

    it('accepts a user inside the enrolment grace period', async () => {
      assert.equal((await send({ userName: 'greta' })).r.code, Code.AccessAccept);
    });

    it('challenges an enrolled user', async () => {
      assert.equal((await send({ userName: 'dave' })).r.code, Code.AccessChallenge);
    });
  });

  describe('changing the mode', () => {
    after(() => setMode('ENABLED'));

    it('applies a mode changed through this instance to the very next Access-Request (the change is answered once the client table has it)', async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal((await gh.api('PUT', `/api/radiusservers/${serverId}`, { mfa: 'DISABLED' })).status, 200);
        assert.equal((await send({ userName: 'erin' })).r.code, Code.AccessAccept, `round ${i}: DISABLED`);
        assert.equal((await gh.api('PUT', `/api/radiusservers/${serverId}`, { mfa: 'ALWAYS' })).status, 200);
        assert.equal((await send({ userName: 'erin' })).r.code, Code.AccessReject, `round ${i}: ALWAYS`);
      }
    });
  });
});
