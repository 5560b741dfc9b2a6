import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';

/** A raw TCP client: what arrives until the server closes (or `ms` pass), and whether it closed. */
function openSocket(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<boolean> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    const closed = new Promise<boolean>((r) => socket.once('close', () => r(true)));
    socket.once('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);

const GET_HEALTH = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

/** Sends one request on an open socket and waits for its status line. */
async function statusOn(s: { socket: Socket; received: () => string }): Promise<number> {
  const before = s.received().length;
  s.socket.write(GET_HEALTH);
  for (let i = 0; i < 100; i++) {
    const m = /^HTTP\/1\.1 (\d{3})/.exec(s.received().slice(before));
    if (m) return Number(m[1]);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no answer on an accepted connection');
}

/** The connection is answered 503 with a JSON body, without its request being served, then closed. */
async function assertRefused(port: number, request = GET_HEALTH): Promise<void> {
  const s = await openSocket(port);
  s.socket.write(request);
  assert.equal(await within(s.closed, 3000), true, 'a refused connection is closed');
  const [head = '', body = ''] = s.received().split('\r\n\r\n');
  assert.match(head, /^HTTP\/1\.1 503 /);
  assert.match(head, /\r\nconnection: close/i);
  assert.match(head, /\r\ncontent-type: application\/json/i);
  assert.equal(JSON.parse(body).statusCode, 503);
  assert.equal(s.received().match(/HTTP\/1\.1/g)?.length, 1, 'the request itself was not served');
}

describe('HTTP listener: connection caps and timeouts', function () {
  this.timeout(30_000);
  let gh: RunningAppliance | null = null;
  const open: Socket[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) s.destroy();
    await gh?.stop();
    gh = null;
  });
  const keep = async (port: number) => {
    const s = await openSocket(port);
    open.push(s.socket);
    return s;
  };

  it('refuses connections over the per-address cap with a 503 JSON answer, and accepts again once one closes', async () => {
    gh = await startAppliance({ http: { maxConnectionsPerIp: 3, maxConnections: 100 } });
    const port = gh.endpoints.http.port;
    const held = [await keep(port), await keep(port), await keep(port)];
    await assertRefused(port);
    // The connections within the cap still work.
    assert.equal(await statusOn(held[0]!), 200);
    held[1]!.socket.destroy();
    await held[1]!.closed;
    await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${gh.httpUrl}/health`, { headers: { connection: 'close' } });
    assert.equal(res.status, 200);
  });

  it('refuses connections over the total cap, and LDAP still answers meanwhile', async () => {
    gh = await startAppliance({ http: { maxConnectionsPerIp: 100, maxConnections: 2 } });
    const port = gh.endpoints.http.port;
    const held = [await keep(port), await keep(port)];
    await assertRefused(port);
    // A refused connection's request never runs, even sent at once and followed by another
    // (pipelined): no user is created. The client half-closes as soon as it has sent.
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ username: `refused${i}`, email: `refused${i}@example.com` });
      await assertRefused(
        port,
        `POST /api/systemusers HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${gh.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}${GET_HEALTH}`,
      );
    }
    // Another protocol of the process is not affected by a full HTTP listener.
    const ldap = await openSocket(gh.endpoints.ldap!.port);
    open.push(ldap.socket);
    // An anonymous simple bind (RFC 4511 §4.2): messageID 1, version 3, empty name and password.
    ldap.socket.write(Buffer.from('300c020101600702010304008000', 'hex'));
    for (let i = 0; i < 100 && ldap.received().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ldap.received().length > 0, 'LDAP answers the bind');
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await new Promise((r) => setTimeout(r, 50));
    const created = await gh.api('GET', '/api/systemusers?filter=username:$search:refused');
    assert.equal(created.status, 200);
    assert.equal(created.body.totalCount, 0, 'a refused request created a user');
  });

  it('does not apply the per-address cap behind a trusted proxy (every connection comes from it)', async () => {
    gh = await startAppliance({ http: { maxConnectionsPerIp: 2, maxConnections: 100, trustProxy: true } });
    const port = gh.endpoints.http.port;
    const held = [await keep(port), await keep(port), await keep(port), await keep(port)];
    for (const s of held) assert.equal(await statusOn(s), 200);
  });

  it('answers 408 and closes a connection that sends its body too slowly', async () => {
    gh = await startAppliance({ http: { requestTimeoutSeconds: 1 } });
    const s = await keep(gh.endpoints.http.port);
    s.socket.write(
      `POST /api/systemusers HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${gh.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"us`,
    );
    assert.equal(await within(s.closed, 5000), true, 'closed within the timeout and its check interval');
    assert.match(s.received(), /^HTTP\/1\.1 408 /);
    assert.equal((await gh.api('GET', '/api/systemusers?filter=username:$eq:us')).body.totalCount, 0, 'nothing was created');
  });

  it('closes a connection that stays silent for longer than idleTimeoutSeconds', async () => {
    gh = await startAppliance({ http: { idleTimeoutSeconds: 5 } });
    const s = await keep(gh.endpoints.http.port);
    assert.equal(await within(s.closed, 9000), true);
    assert.equal(s.received(), '');
  });
});
