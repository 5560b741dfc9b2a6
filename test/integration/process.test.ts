import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../../src/util/certificates.js';

/** The appliance as an operator starts it: the real entry point in a child process. */
const ROOT = new URL('../..', import.meta.url).pathname;

/** Children still running when a test ends (it failed before stopping them): killed after it. */
const started = new Set<ChildProcessWithoutNullStreams>();

function startProcess(env: Record<string, string>): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env } });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return { child, out: () => stdout, err: () => stderr };
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

describe('the appliance process', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gatehouse-proc-'))));
  afterEach(async () => {
    for (const child of started) {
      child.kill('SIGKILL');
      await exited(child);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const baseEnv = () => ({
    GATEHOUSE_DATA_DIR: join(dir, 'data'),
    GATEHOUSE_CERTS_DIR: join(dir, 'certs'),
    GATEHOUSE_BIND_ADDRESS: '127.0.0.1',
    GATEHOUSE_HTTP_PORT: '0',
    GATEHOUSE_LDAP_PORT: '0',
    GATEHOUSE_LDAPS_PORT: '0',
    GATEHOUSE_RADIUS_PORT: '0',
    GATEHOUSE_LOG_LEVEL: 'info',
  });

  it('binds a free port for port 0, logs it, answers /health, prints a generated admin password once and stops on SIGTERM', async () => {
    const p = startProcess(baseEnv());
    const port = await waitFor('the HTTP port in the log', () => {
      const m = /"endpoint":"http".*?"port":(\d+)/.exec(p.out());
      return m ? Number(m[1]) : undefined;
    });
    assert.ok(port > 0);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    const password = /Password \(shown once, change it\): (\S+)/.exec(p.err())?.[1];
    assert.ok(password && password.length >= 16, `no generated password on stderr: ${p.err()}`);
    assert.ok(!p.out().includes(password), 'the generated password appears in the log');
    for (const line of p.out().trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);

    p.child.kill('SIGTERM');
    assert.equal(await exited(p.child), 0);
  });

  it('reloads a replaced TLS key and certificate on SIGHUP, and logs a refused pair without stopping', async () => {
    const p = startProcess(baseEnv());
    await waitFor('the HTTP port in the log', () => /"endpoint":"http".*?"port":(\d+)/.exec(p.out())?.[1]);
    const next = await createSelfSignedCertificate({ commonName: 'renewed.example', dnsNames: ['renewed.example'], ipAddresses: [], days: 30 });
    writeFileSync(join(dir, 'certs', 'tls.key'), next.keyPem);
    writeFileSync(join(dir, 'certs', 'tls.crt'), next.certPem);
    p.child.kill('SIGHUP');
    const logged = (msg: string, detail: string) => (p.out().split('\n').some((l) => l.includes(msg) && l.includes(detail)) ? true : undefined);
    await waitFor('the reload in the log', () => logged('TLS key and certificate reloaded', 'CN=renewed.example'));
    // A certificate that is not the key's: refused, logged, and the process goes on.
    const other = await createSelfSignedCertificate({ commonName: 'other.example', dnsNames: ['other.example'], ipAddresses: [], days: 30 });
    writeFileSync(join(dir, 'certs', 'tls.crt'), other.certPem);
    p.child.kill('SIGHUP');
    await waitFor('the refusal in the log', () => logged('TLS key and certificate not reloaded', 'is not the key of the certificate'));
    assert.equal(p.child.exitCode, null);
    p.child.kill('SIGTERM');
    assert.equal(await exited(p.child), 0);
  });

  it('keeps its data across a restart and does not bootstrap twice', async () => {
    const env = { ...baseEnv(), GATEHOUSE_BOOTSTRAP_API_KEY: 'restart-test-key-0123456789abcdef' };
    const first = startProcess(env);
    const port1 = await waitFor('port', () => /"endpoint":"http".*?"port":(\d+)/.exec(first.out())?.[1]);
    const created = await fetch(`http://127.0.0.1:${port1}/api/systemusers`, {
      method: 'POST',
      headers: { 'x-api-key': env.GATEHOUSE_BOOTSTRAP_API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'persist', email: 'persist@example.com' }),
    });
    assert.equal(created.status, 201);
    first.child.kill('SIGTERM');
    assert.equal(await exited(first.child), 0);

    const second = startProcess(env);
    const port2 = await waitFor('port', () => /"endpoint":"http".*?"port":(\d+)/.exec(second.out())?.[1]);
    const list = await fetch(`http://127.0.0.1:${port2}/api/systemusers?filter=username:$eq:persist`, { headers: { 'x-api-key': env.GATEHOUSE_BOOTSTRAP_API_KEY } });
    assert.equal(((await list.json()) as { totalCount: number }).totalCount, 1);
    assert.ok(!second.err().includes('shown once'), 'bootstrapped a second time');
    second.child.kill('SIGTERM');
    assert.equal(await exited(second.child), 0);
  });

  it('refuses a bad configuration value with a message naming the key, and exit code 78', async () => {
    const p = startProcess({ ...baseEnv(), GATEHOUSE_HTTP_PORT: 'eighty' });
    assert.equal(await exited(p.child), 78);
    assert.match(p.err(), /http\.port \(GATEHOUSE_HTTP_PORT\): must be an integer, got "eighty"/);
  });

  it('refuses a bootstrap password that breaks the admin policy, naming the variable', async () => {
    const p = startProcess({ ...baseEnv(), GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: 'short' });
    assert.equal(await exited(p.child), 78);
    assert.match(p.err(), /bootstrap\.adminPassword \(GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD\): must be at least 12 characters/);
  });
});
