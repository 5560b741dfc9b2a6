/**
 * Open-loop RADIUS load: PAP Access-Requests with Message-Authenticator at a fixed rate, whatever the
 * server's latency (a closed loop hides queueing). Prints one RESULT line with the rate offered and
 * served, p50/p99 latency and lost requests (no answer within --timeout).
 *
 *   npx tsx bench/radius-open-loop.ts --port P --secret S --users N --rate R [--seconds 10] [--password P]
 * Loopback only.
 */
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { Attr, Code, encodeAttribute, encodeUserPassword } from '../src/radius/packet.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const PORT = Number(arg('port', '1812'));
const SECRET = Buffer.from(arg('secret', 'testing123'));
const USERS = Number(arg('users', '1000'));
const RATE = Number(arg('rate', '1000'));
const SECONDS = Number(arg('seconds', '10'));
const PASSWORD = Buffer.from(arg('password', 'Passw0rd!'));
const TIMEOUT_MS = Number(arg('timeout', '2000'));
const LABEL = arg('label', '');

function request(id: number, user: string): Buffer {
  const auth = randomBytes(16);
  const attrs = Buffer.concat([
    encodeAttribute(Attr.UserName, Buffer.from(user)),
    encodeAttribute(Attr.UserPassword, encodeUserPassword(PASSWORD, SECRET, auth)),
    encodeAttribute(Attr.NasIpAddress, Buffer.from([127, 0, 0, 1])),
    Buffer.from([Attr.MessageAuthenticator, 18]),
    Buffer.alloc(16),
  ]);
  const pkt = Buffer.concat([Buffer.from([Code.AccessRequest, id, 0, 0]), auth, attrs]);
  pkt.writeUInt16BE(pkt.length, 2);
  createHmac('md5', SECRET).update(pkt).digest().copy(pkt, pkt.length - 16);
  return pkt;
}

async function main() {
  // Several sockets: 256 Identifiers per source port bound the requests in flight on one socket.
  const sockets = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
      return s;
    }),
  );
  const pending = sockets.map(() => new Map<number, number>());
  const lat: number[] = [];
  /** Latency of each answer by the 250 ms slice of the run in which its request was sent. */
  const slices: number[][] = [];
  let accept = 0;
  let reject = 0;
  let other = 0;
  sockets.forEach((s, i) =>
    s.on('message', (msg) => {
      const sent = pending[i]!.get(msg[1]!);
      if (sent === undefined) return;
      pending[i]!.delete(msg[1]!);
      const ms = performance.now() - sent;
      lat.push(ms);
      (slices[Math.floor((sent - start) / 250)] ??= []).push(ms);
      if (msg[0] === Code.AccessAccept) accept++;
      else if (msg[0] === Code.AccessReject) reject++;
      else other++;
    }),
  );
  let sent = 0;
  let lost = 0;
  let skipped = 0;
  const start = performance.now();
  const total = Math.round(RATE * SECONDS);
  const nextId = sockets.map(() => 0);
  while (sent + skipped < total) {
    const due = start + ((sent + skipped) * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const k = (sent + skipped) % sockets.length;
    const map = pending[k]!;
    // Expire requests older than the timeout: they are lost.
    const now = performance.now();
    for (const [id, t] of map) if (now - t > TIMEOUT_MS) (map.delete(id), lost++);
    let id = nextId[k]!;
    let tries = 0;
    while (map.has(id) && tries++ < 256) id = (id + 1) & 0xff;
    if (map.has(id)) {
      skipped++; // 256 in flight on this socket: the server is far behind
      continue;
    }
    nextId[k] = (id + 1) & 0xff;
    const user = `user${String(Math.floor(Math.random() * USERS)).padStart(5, '0')}`;
    map.set(id, performance.now());
    sockets[k]!.send(request(id, user), PORT, '127.0.0.1');
    sent++;
  }
  const elapsed = (performance.now() - start) / 1000;
  await new Promise((r) => setTimeout(r, TIMEOUT_MS));
  for (const m of pending) lost += m.size;
  lat.sort((a, b) => a - b);
  const p = (q: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((q / 100) * lat.length))]!.toFixed(2) : 'NaN');
  console.log(
    `RESULT engine=open-loop users=${USERS} offered_req_s=${RATE} secs=${elapsed.toFixed(1)} sent=${sent} accept=${accept} reject=${reject} other=${other} lost=${lost + skipped} served_req_s=${(lat.length / elapsed).toFixed(1)} p50_ms=${p(50)} p99_ms=${p(99)} ${LABEL}`,
  );
  // Where the slow answers fall in time (a start-up transient, periodic stalls): p99 per slice.
  const perSlice = slices.map((l, i) => {
    l.sort((a, b) => a - b);
    return `${(i / 4).toFixed(2)}s:${l[Math.floor(0.99 * (l.length - 1))]!.toFixed(1)}`;
  });
  console.error(`p99 per 250 ms slice: ${perSlice.join(' ')}`);
  for (const s of sockets) s.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
