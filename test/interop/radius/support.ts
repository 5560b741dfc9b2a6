import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Pieces shared by the RADIUS interop tests: child processes run asynchronously (the appliance
 * answers from this same event loop, so a synchronous child would deadlock), and a UDP proxy that
 * keeps the raw bytes of every reply so that tests check them, not a client's reading of them.
 */

export const HERE = dirname(fileURLToPath(import.meta.url));

export interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runAsync(cmd: string, args: string[], input?: string, timeoutMs = 20_000): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    // A child that does not read its input (oathtool) may exit first: ignore EPIPE on stdin.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

/** radclient with attributes on stdin; `-x` prints the reply's attributes; one try, one second. */
export function radclient(port: number, secret: string, attrs: string[], command = 'auth'): Promise<ChildResult> {
  return runAsync('radclient', ['-x', '-r', '1', '-t', '1', `127.0.0.1:${port}`, command, secret], attrs.join('\n') + '\n');
}

/** The State of an Access-Challenge as radclient -x prints it (`State = 0x…`). */
export function stateFrom(out: string): string | null {
  return /State = 0x([0-9a-f]+)/i.exec(out)?.[1] ?? null;
}

/** A Python 3 that can import pyrad (Debian's python3-pyrad lives in /usr/bin/python3's path). */
export function pythonWithPyrad(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import pyrad'], { stdio: 'pipe' });
      return py;
    } catch {
      /* try the next one */
    }
  }
  return null;
}

export interface PyradReply {
  code: number;
  response_authenticator_ok: boolean;
  message_authenticator_first: boolean;
  message_authenticator_ok: boolean;
  attributes: Record<string, unknown[]>;
  types: number[];
}

export async function pyrad(python: string, args: Record<string, unknown>): Promise<PyradReply | null> {
  const r = await runAsync(python, [join(HERE, 'pyrad_client.py'), JSON.stringify(args)]);
  if (r.code !== 0) throw new Error(`pyrad client failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { reply: PyradReply | null }).reply;
}

export interface CapturingProxy {
  port: number;
  /** Raw (request, reply) pairs seen, oldest first. */
  readonly exchanges: { request: Buffer; reply: Buffer | null }[];
  close(): Promise<void>;
}

/** A UDP relay in front of the listener: each client gets its own upstream socket; replies are kept. */
export async function capturingProxy(upstreamPort: number): Promise<CapturingProxy> {
  const front = dgram.createSocket('udp4');
  const exchanges: { request: Buffer; reply: Buffer | null }[] = [];
  const upstreams = new Map<string, dgram.Socket>();
  front.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = upstreams.get(key);
    if (!up) {
      const s = dgram.createSocket('udp4');
      s.on('message', (reply) => {
        const pending = [...exchanges].reverse().find((e) => e.reply === null && e.request[1] === reply[1]);
        if (pending) pending.reply = Buffer.from(reply);
        front.send(reply, rinfo.port, rinfo.address);
      });
      s.bind(0, '127.0.0.1');
      upstreams.set(key, s);
      up = s;
    }
    exchanges.push({ request: Buffer.from(msg), reply: null });
    up.send(msg, upstreamPort, '127.0.0.1');
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  return {
    port: front.address().port,
    exchanges,
    async close() {
      for (const s of upstreams.values()) s.close();
      await new Promise<void>((r) => front.close(() => r()));
    },
  };
}

export function oathtool(base32Secret: string): Promise<string> {
  return runAsync('oathtool', ['--totp', '-b', base32Secret]).then((r) => r.stdout.trim());
}
