import { spawn, type ChildProcess } from 'node:child_process';
import { exec } from '../integration/ldap/support.js';

/**
 * A Linux NSS/PAM client daemon (nslcd, sssd) run in the foreground by an interop test, and the
 * lookups that go through it: `getent -s <service>` asks one NSS module directly, so the machine's
 * /etc/nsswitch.conf is never touched; `pamtester` runs a PAM service file of the test's own.
 */
export class NssDaemon {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(private readonly nssService: string) {}

  /** The daemon's latest output, for assertion messages. */
  log(chars = 3000): string {
    return this.output.slice(-chars);
  }

  /** Starts `cmd args` and waits until `user` resolves through the daemon. */
  async start(cmd: string, args: string[], user: string, waitMs = 30_000): Promise<void> {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => (this.output = (this.output + b.toString()).slice(-20_000));
    this.child.stdout!.on('data', keep);
    this.child.stderr!.on('data', keep);
    for (const until = Date.now() + waitMs; Date.now() < until; ) {
      if ((await this.getent('passwd', user)).code === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    // Its first complaint is usually the one that matters.
    const errors = this.output.split('\n').filter((l) => /error|fail|cannot|unable|denied/i.test(l) && !/accept\(\) failed|not retrying/.test(l));
    throw new Error(`${cmd} did not answer: ${errors.slice(0, 10).join('\n')}\n…\n${this.log(1500)}`);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }

  /** `getent -s <service> …`: exit code and output lines, sorted. */
  async getent(...args: string[]): Promise<{ code: number; lines: string[] }> {
    const r = await exec('getent', ['-s', this.nssService, ...args], { timeoutMs: 30_000 });
    return { code: r.code, lines: r.stdout.trim().split('\n').filter(Boolean).sort() };
  }

  /** group lines with each member list sorted (daemons list members in the order they met them). */
  async groups(...args: string[]): Promise<{ code: number; lines: string[] }> {
    const r = await this.getent('group', ...args);
    return { code: r.code, lines: r.lines.map((l) => l.replace(/[^:]*$/, (m) => m.split(',').sort().join(','))) };
  }
}

/** `pamtester -v <service> <user> <ops…>` with the password on its standard input. */
export function pamtester(service: string, user: string, password: string, ...ops: string[]) {
  return exec('pamtester', ['-v', service, user, ...ops], { input: `${password}\n`, timeoutMs: 30_000 });
}
