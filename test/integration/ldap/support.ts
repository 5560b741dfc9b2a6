import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Client, ResultCodeError, type ClientOptions } from 'ldapts';
import type { RunningAppliance } from '../../helpers/appliance.js';
import { queryEvents, type InsightsEvent } from '../api/support.js';

/**
 * Shared pieces of the LDAP integration and interop tests: a seeded directory (users, groups,
 * associations through the REST API), child-process clients run asynchronously (the appliance runs
 * in the same process, so a synchronous child would block the event loop it needs to answer),
 * an LDIF reader, raw BER builders for hostile input, and audit queries.
 */

export const SUFFIX = 'dc=gatehouse,dc=local';

export interface SeedUser {
  id: string;
  username: string;
  password: string;
  dn: string;
  uidNumber: number;
}

export interface SeedGroup {
  id: string;
  name: string;
  dn: string;
  gidNumber?: number;
}

export interface Directory {
  run: RunningAppliance;
  orgId: string;
  /** o=<orgId>,dc=gatehouse,dc=local */
  base: string;
  /** ou=Users,o=<orgId>,dc=gatehouse,dc=local */
  usersBase: string;
  ldapServerId: string;
  url: string;
  ldapsUrl: string;
  /** The appliance's generated self-signed certificate (for LDAPTLS_CACERT / ca_certs_file). */
  caFile: string;
  users: Record<string, SeedUser>;
  groups: Record<string, SeedGroup>;
  userDn(username: string): string;
  groupDn(name: string): string;
}

export interface UserSpec {
  username: string;
  password: string;
  email?: string;
  firstname?: string;
  lastname?: string;
  uidNumber: number;
  ldapBindingUser?: boolean;
  state?: 'STAGED' | 'ACTIVATED' | 'SUSPENDED';
  /** Bind directly to the LDAP server. */
  bound?: boolean;
}

export interface GroupSpec {
  name: string;
  gidNumber?: number;
  members: string[];
  /** Bind the group to the LDAP server (default true). */
  bound?: boolean;
}

/**
 * The standard cast. Passwords avoid containing the usernames (the default policy forbids it).
 * - binder: the bind account (ldap_binding_user), bound directly
 * - alice "Alice Öztürk": in staff (POSIX) and plain (no POSIX data) and hidden (not bound)
 * - bob: in staff, bound only through it
 * - dave: bound directly, no groups
 * - carol: not bound at all
 * - stella (STAGED) and sam (SUSPENDED): bound directly
 */
export const STANDARD_USERS: UserSpec[] = [
  { username: 'binder', password: 'Gate-Keeper-41x', firstname: 'Bind', lastname: 'Account', uidNumber: 7000, ldapBindingUser: true, bound: true },
  { username: 'alice', password: 'Wonder-Land-42x', firstname: 'Alice', lastname: 'Öztürk', uidNumber: 7001 },
  { username: 'bob', password: 'Build-It-9876x', firstname: 'Bob', lastname: 'Builder', uidNumber: 7002 },
  { username: 'dave', password: 'Deep-Sea-5150x', firstname: 'Dave', lastname: 'Diver', uidNumber: 7003, bound: true },
  { username: 'carol', password: 'Christmas-55xy', firstname: 'Carol', lastname: 'Unbound', uidNumber: 7004 },
  { username: 'stella', password: 'Star-Light-77x', firstname: 'Stella', lastname: 'Staged', uidNumber: 7005, state: 'STAGED', bound: true },
  { username: 'sam', password: 'Summer-Time-66x', firstname: 'Sam', lastname: 'Suspended', uidNumber: 7006, state: 'SUSPENDED', bound: true },
];

export const STANDARD_GROUPS: GroupSpec[] = [
  { name: 'staff', gidNumber: 8001, members: ['alice', 'bob'] },
  { name: 'plain', members: ['alice'] },
  { name: 'hidden', gidNumber: 8003, members: ['alice', 'dave'], bound: false },
];

export async function ok(p: Promise<{ status: number; body: unknown }>, status: number, what: string) {
  const r = await p;
  assert.equal(r.status, status, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  // `any`: REST bodies are asserted field by field by callers.
  return r.body as any;
}

/** Creates users and groups over the REST API and binds them to the organisation's LDAP server. */
export async function seedDirectory(run: RunningAppliance, users: UserSpec[] = STANDARD_USERS, groups: GroupSpec[] = STANDARD_GROUPS): Promise<Directory> {
  const orgs = await ok(run.api('GET', '/api/organizations'), 200, 'organizations');
  const orgId = orgs.results[0]._id as string;
  const servers = await ok(run.api('GET', '/api/v2/ldapservers'), 200, 'ldapservers');
  assert.equal(servers.length, 1, 'one LDAP server per organisation');
  const ldapServerId = servers[0].id as string;
  const base = `o=${orgId},${SUFFIX}`;
  const usersBase = `ou=Users,${base}`;
  const userDn = (u: string) => `uid=${u},${usersBase}`;
  const groupDn = (g: string) => `cn=${g.replace(/([,+"\\<>;=])/g, '\\$1')},${usersBase}`;
  const seededUsers: Record<string, SeedUser> = {};
  for (const u of users) {
    const body = await ok(
      run.api('POST', '/api/systemusers', {
        username: u.username,
        email: u.email ?? `${u.username}@example.com`,
        firstname: u.firstname ?? '',
        lastname: u.lastname ?? '',
        password: u.password,
        unix_uid: u.uidNumber,
        unix_guid: u.uidNumber,
        ldap_binding_user: u.ldapBindingUser ?? false,
        ...(u.state ? { state: u.state } : {}),
      }),
      201,
      `create user ${u.username}`,
    );
    if (u.state) assert.equal(body.state, u.state, `state of ${u.username}`);
    seededUsers[u.username] = { id: body._id, username: u.username, password: u.password, dn: userDn(u.username), uidNumber: u.uidNumber };
    if (u.bound) await bindUser(run, body._id, ldapServerId);
  }
  const seededGroups: Record<string, SeedGroup> = {};
  for (const g of groups) {
    const body = await ok(
      run.api('POST', '/api/v2/usergroups', {
        name: g.name,
        ...(g.gidNumber !== undefined ? { attributes: { posixGroups: [{ id: g.gidNumber, name: g.name }] } } : {}),
      }),
      201,
      `create group ${g.name}`,
    );
    if (g.gidNumber !== undefined) assert.equal(body.attributes.posixGroups[0]?.id, g.gidNumber, `gid of ${g.name}: ${JSON.stringify(body)}`);
    seededGroups[g.name] = { id: body.id, name: g.name, dn: groupDn(g.name), ...(g.gidNumber !== undefined ? { gidNumber: g.gidNumber } : {}) };
    for (const m of g.members) {
      await ok(run.api('POST', `/api/v2/usergroups/${body.id}/members`, { op: 'add', type: 'user', id: seededUsers[m]!.id }), 204, `add ${m} to ${g.name}`);
    }
    if (g.bound ?? true) {
      await ok(run.api('POST', `/api/v2/usergroups/${body.id}/associations`, { op: 'add', type: 'ldap_server', id: ldapServerId }), 204, `bind ${g.name}`);
    }
  }
  return {
    run,
    orgId,
    base,
    usersBase,
    ldapServerId,
    url: `ldap://127.0.0.1:${run.endpoints.ldap!.port}`,
    ldapsUrl: `ldaps://127.0.0.1:${run.endpoints.ldap!.ldapsPort}`,
    caFile: join(run.dataDir, 'certs', 'tls.crt'),
    users: seededUsers,
    groups: seededGroups,
    userDn,
    groupDn,
  };
}

export async function bindUser(run: RunningAppliance, userId: string, ldapServerId: string): Promise<void> {
  await ok(run.api('POST', `/api/v2/users/${userId}/associations`, { op: 'add', type: 'ldap_server', id: ldapServerId }), 204, `bind user ${userId}`);
}

/** PATCH the LDAP server, then wait out core's 2-second server-record cache (ldap-directory.ts CACHE_MS). */
export async function patchLdapServer(dir: Directory, body: Record<string, unknown>): Promise<void> {
  await ok(dir.run.api('PATCH', `/api/v2/ldapservers/${dir.ldapServerId}`, body), 200, 'patch ldap server');
  await new Promise((r) => setTimeout(r, 2100));
}

// ---------------------------------------------------------------------------------------------
// Child-process clients

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a client binary asynchronously (never execFileSync: the appliance answers from this very
 * event loop). Resolves with the exit code, whatever it is.
 */
export function exec(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
    // A child that exits without reading its input (EPIPE) is not an error of the test.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Environment for ldap-utils against the appliance: trust its generated certificate, no system or user ldap.conf. */
export function ldapEnv(dir: Directory): Record<string, string> {
  return { LDAPTLS_CACERT: dir.caFile, LDAPTLS_REQCERT: 'demand', LDAPCONF: '/dev/null', LDAPRC: '/dev/null' };
}

export interface LdifEntry {
  dn: string;
  attrs: Record<string, string[]>;
}

/** Reads `ldapsearch -LLL -o ldif-wrap=no` output (base64 `::` values decoded, attribute names as sent). */
export function parseLdif(text: string): LdifEntry[] {
  const out: LdifEntry[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length === 0) continue;
    let entry: LdifEntry | null = null;
    for (const line of lines) {
      const m = /^([^:]+)(::?)\s?(.*)$/.exec(line);
      if (!m) continue;
      const [, name, sep, raw] = m as unknown as [string, string, string, string];
      const value = sep === '::' ? Buffer.from(raw, 'base64').toString('utf8') : raw;
      if (name === 'dn') entry = { dn: value, attrs: {} };
      else if (entry) (entry.attrs[name] ??= []).push(value);
    }
    if (entry) out.push(entry);
  }
  return out;
}

/** `ldapsearch -LLL` with the given connection arguments; returns exit code and parsed entries. */
export async function ldapsearch(
  dir: Directory,
  conn: string[],
  args: string[],
): Promise<ExecResult & { entries: LdifEntry[] }> {
  const r = await exec('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', ...conn, ...args], { env: ldapEnv(dir) });
  return { ...r, entries: parseLdif(r.stdout) };
}

/** `-x -H url -D dn -w password` for a seeded user. */
export function asUser(dir: Directory, username: string, url = dir.url): string[] {
  const u = dir.users[username]!;
  return ['-x', '-H', url, '-D', u.dn, '-w', u.password];
}

// ---------------------------------------------------------------------------------------------
// ldapts

export function client(dir: Directory, opts: Partial<ClientOptions> = {}): Client {
  return new Client({ url: dir.url, timeout: 10_000, connectTimeout: 5_000, ...opts });
}

/** The LDAP result code an ldapts call ended with (0 on success). */
export async function resultCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof ResultCodeError) return err.code;
    throw err;
  }
}

/** The error an ldapts call ended with (asserting that it failed with `code`). */
export async function failsWith(p: Promise<unknown>, code: number): Promise<ResultCodeError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ResultCodeError) {
      assert.equal(err.code, code, `expected result code ${code}, got ${err.code} (${err.message})`);
      return err;
    }
    throw err;
  }
  assert.fail(`expected result code ${code}, got success`);
}

/** Binds, searches, unbinds; returns the DNs found (lower-cased) — a "real client still works" probe. */
export async function probeSearch(dir: Directory, filter = '(uid=bob)'): Promise<string[]> {
  const c = client(dir);
  try {
    await c.bind(dir.users.binder!.dn, dir.users.binder!.password);
    const r = await c.search(dir.base, { filter, scope: 'sub', attributes: ['1.1'] });
    return r.searchEntries.map((e) => e.dn.toLowerCase());
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Audit

/**
 * LDAP events recorded after `since` (the audit writer flushes every few ms; this polls until
 * `until` holds or two seconds pass), oldest first. Event ids grow within a process.
 */
export async function ldapEvents(run: RunningAppliance, since: string, until: (evs: InsightsEvent[]) => boolean = () => true): Promise<InsightsEvent[]> {
  const deadline = Date.now() + 2000;
  for (;;) {
    const evs = (await queryEvents(run, { service: ['ldap'], start_time: '2000-01-01T00:00:00Z', limit: 10_000 }))
      .filter((e) => String(e.id) > since)
      .sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
    if (until(evs) || Date.now() > deadline) return evs;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The id of the newest LDAP event (a watermark for `ldapEvents`). */
export async function lastLdapEventId(run: RunningAppliance): Promise<string> {
  // Ids grow within a process (seconds, then a counter), so the largest id is the newest event.
  const evs = await queryEvents(run, { service: ['ldap'], start_time: '2000-01-01T00:00:00Z', limit: 10_000 });
  return evs.map((e) => String(e.id)).reduce((a, b) => (b > a ? b : a), '');
}

// ---------------------------------------------------------------------------------------------
// Raw BER (RFC 4511), built independently of the server's codec

export function berLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const c = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), berLength(c.length), c]);
};

export const berInt = (n: number, tag = 0x02): Buffer => {
  const b: number[] = [];
  do {
    b.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (b[0]! & 0x80) b.unshift(0);
  return tlv(tag, Buffer.from(b));
};

export const berString = (s: string | Buffer, tag = 0x04): Buffer => tlv(tag, Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8'));

export const ldapMessage = (id: number, op: Buffer, controls?: Buffer): Buffer => tlv(0x30, berInt(id), op, ...(controls ? [controls] : []));

export const presentFilter = (attr: string): Buffer => berString(attr, 0x87);
export const equalityFilter = (attr: string, value: string): Buffer => tlv(0xa3, berString(attr), berString(value));
export const notFilter = (f: Buffer): Buffer => tlv(0xa2, f);

export function searchRequest(base: string, scope: 0 | 1 | 2, filter: Buffer, attrs: string[] = [], sizeLimit = 0): Buffer {
  return tlv(
    0x63,
    berString(base),
    berInt(scope, 0x0a),
    berInt(0, 0x0a),
    berInt(sizeLimit),
    berInt(0),
    tlv(0x01, Buffer.from([0])),
    filter,
    tlv(0x30, ...attrs.map((a) => berString(a))),
  );
}

export const simpleBindRequest = (dn: string, password: string): Buffer => tlv(0x60, berInt(3), berString(dn), berString(password, 0x80));

/** Paged results control (RFC 2696) with the given cookie. */
export function pagedControl(size: number, cookie: Buffer): Buffer {
  const value = tlv(0x30, berInt(size), berString(cookie));
  return tlv(0xa0, tlv(0x30, berString('1.2.840.113556.1.4.319'), berString(value)));
}

/** One decoded response envelope: message id, protocol op tag, and for LDAPResult ops the result code. */
export interface RawResponse {
  messageId: number;
  op: number;
  code?: number;
  message?: string;
  /** The protocol op's content. */
  body: Buffer;
  /** The Controls of the message ([0] SEQUENCE OF Control), when present. */
  controls?: Buffer;
}

function readLength(b: Buffer, at: number): { len: number; at: number } | null {
  if (at >= b.length) return null;
  const l0 = b[at]!;
  if (l0 < 0x80) return { len: l0, at: at + 1 };
  const n = l0 & 0x7f;
  if (at + 1 + n > b.length) return null;
  let len = 0;
  for (let k = 0; k < n; k++) len = len * 256 + b[at + 1 + k]!;
  return { len, at: at + 1 + n };
}

/** Splits a byte stream of responses into envelopes; returns the ones complete so far and the rest. */
export function readResponses(buf: Buffer): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let pos = 0;
  for (;;) {
    if (buf[pos] !== 0x30) break;
    const l = readLength(buf, pos + 1);
    if (!l || l.at + l.len > buf.length) break;
    const msg = buf.subarray(l.at, l.at + l.len);
    pos = l.at + l.len;
    // messageId INTEGER
    const idLen = readLength(msg, 1)!;
    let messageId = 0;
    for (let k = 0; k < idLen.len; k++) messageId = messageId * 256 + msg[idLen.at + k]!;
    const opAt = idLen.at + idLen.len;
    const op = msg[opAt]!;
    const opLen = readLength(msg, opAt + 1)!;
    const body = msg.subarray(opLen.at, opLen.at + opLen.len);
    const r: RawResponse = { messageId, op, body };
    const after = opLen.at + opLen.len;
    if (after < msg.length && msg[after] === 0xa0) r.controls = msg.subarray(after);
    if (op !== 0x64 && body[0] === 0x0a) {
      r.code = body[2]!;
      const dnLen = readLength(body, 4)!;
      const msgAt = dnLen.at + dnLen.len;
      const ml = readLength(body, msgAt + 1);
      if (ml) r.message = body.subarray(ml.at, ml.at + ml.len).toString('utf8');
    }
    responses.push(r);
  }
  return { responses, rest: buf.subarray(pos) };
}

/** The children of a constructed BER value (tag and content of each). */
export function berChildren(content: Buffer): { tag: number; value: Buffer }[] {
  const out: { tag: number; value: Buffer }[] = [];
  let pos = 0;
  while (pos < content.length) {
    const tag = content[pos]!;
    const l = readLength(content, pos + 1);
    if (!l) break;
    out.push({ tag, value: content.subarray(l.at, l.at + l.len) });
    pos = l.at + l.len;
  }
  return out;
}

/** The cookie of a paged results control in a SearchResultDone (RFC 2696), or null. */
export function pagedCookie(r: RawResponse): Buffer | null {
  if (!r.controls) return null;
  const [controls] = berChildren(r.controls);
  for (const c of berChildren(controls?.value ?? Buffer.alloc(0))) {
    const parts = berChildren(c.value);
    if (parts[0]?.value.toString() !== '1.2.840.113556.1.4.319') continue;
    const value = parts.find((p, k) => k > 0 && p.tag === 0x04);
    const [seq] = berChildren(value?.value ?? Buffer.alloc(0));
    const [, cookie] = berChildren(seq?.value ?? Buffer.alloc(0));
    return cookie?.value ?? Buffer.alloc(0);
  }
  return null;
}

/**
 * A raw TCP connection to the LDAP port that keeps every byte it receives, for hostile-input
 * tests. `localAddress` picks another loopback source (127.0.0.x) for per-address limits.
 */
export class RawConnection {
  readonly socket: Socket;
  /** The first bytes received (for failure messages). */
  received = Buffer.alloc(0);
  bytesReceived = 0;
  closed = false;
  readonly closedAt: Promise<void>;
  readonly connected: Promise<void>;
  private parsed: RawResponse[] = [];
  private pending: Buffer[] = [];

  constructor(port: number, opts: { localAddress?: string; read?: boolean } = {}) {
    this.socket = connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    this.socket.setNoDelay(true);
    this.socket.on('error', () => undefined);
    if (opts.read === false) this.socket.pause();
    else this.socket.on('data', (d: Buffer) => this.onData(d));
    this.closedAt = new Promise((resolve) => this.socket.once('close', () => ((this.closed = true), resolve())));
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  private onData(d: Buffer): void {
    this.bytesReceived += d.length;
    if (this.received.length < 4096) this.received = Buffer.concat([this.received, d]).subarray(0, 4096);
    this.pending.push(d);
    // Parse only once a whole message may be there (linear overall, however many chunks arrive).
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const { responses, rest } = readResponses(buf);
    for (const r of responses) this.parsed.push(r);
    this.pending = rest.length > 0 ? [rest] : [];
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  responses(): RawResponse[] {
    return this.parsed;
  }

  /** Waits until `pred` holds for the responses so far (or the connection closes, or time runs out). */
  async waitFor(pred: (rs: RawResponse[]) => boolean, timeoutMs = 10_000): Promise<RawResponse[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (pred(this.parsed) || this.closed || Date.now() > deadline) return this.parsed;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Resolves true if the connection closes within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closedAt.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A Notice of Disconnection (RFC 4511 §4.4.1): unsolicited ExtendedResponse, message id 0. */
export function isNoticeOfDisconnection(r: RawResponse | undefined, code?: number): boolean {
  if (!r || r.messageId !== 0 || r.op !== 0x78) return false;
  if (!r.body.includes(Buffer.from('1.3.6.1.4.1.1466.20036'))) return false;
  return code === undefined || r.code === code;
}

/** A Python that can import ldap3 (Debian's python3-ldap3 lives in the system interpreter; a pyenv/venv python3 may not see it), or null. */
export async function findLdap3Python(): Promise<string | null> {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = await exec(py, ['-c', 'import ldap3']).catch(() => null);
    if (r?.code === 0) return py;
  }
  return null;
}
