import { execFileSync } from 'node:child_process';

/**
 * Interop tests drive independent clients as child processes. In CI a missing client fails the
 * run; on a developer machine the test is skipped with a message naming the package to install.
 */
export function requireBinary(ctx: Mocha.Context, name: string, debianPackage: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'pipe' });
  } catch {
    if (process.env.CI) throw new Error(`${name} is required in CI (apt-get install -y ${debianPackage})`);
    console.warn(`      skipped: ${name} not installed (apt-get install -y ${debianPackage})`);
    ctx.skip();
  }
}

export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}
