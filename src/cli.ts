#!/usr/bin/env node
import './util/threadpool.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { renderDefaultConfig } from './config/document.js';
import { findSecretKey, loadSecretKey, writeSecretKey } from './secret-key.js';
import type { ActorContext } from './core/access/actor.js';
import { generatePassword } from './core/access/admins.js';
import { createPasswordHasher } from './core/auth/password-hasher.js';
import { createSecretBox, parseSecretKey } from './core/auth/secret-box.js';
import { exportDirectory, importDirectory, secretKeyId, type ExportDocument } from './core/backup.js';
import { isDomainError } from './core/errors.js';
import { createCore } from './core/index.js';
import { systemClock } from './core/ports.js';
import { createLogger } from './logger.js';
import { openStore } from './store/index.js';

/**
 * The operator's command line: `gatehouse migrate | create-api-key | reset-admin-password |
 * export | import`. It reads the same configuration (GATEHOUSE_* environment, GATEHOUSE_CONFIG)
 * as the appliance, so it acts on the same data directory or database.
 */
const cliActor: ActorContext = { actor: { type: 'system', name: 'cli' }, clientIp: '', authMethod: 'cli' };

function readSecretArg(file: string | undefined, envName: string): string | undefined {
  if (file) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  return process.env[envName] || undefined;
}

async function withCore<T>(config: Config, fn: (ctx: Awaited<ReturnType<typeof open>>) => Promise<T>): Promise<T> {
  const ctx = await open(config);
  try {
    return await fn(ctx);
  } finally {
    await ctx.core.close();
    await ctx.store.close();
  }
}

async function open(config: Config) {
  const log = createLogger(process.env.GATEHOUSE_LOG_LEVEL ?? 'warn', process.stderr as never);
  const key = loadSecretKey(config.secretKey, config.dataDir);
  const secretBox = createSecretBox(key);
  const { store, migrated, sso } = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const core = createCore({
    sso,
    store,
    hasher: createPasswordHasher({ memoryKiB: config.auth.argon2MemoryKiB, iterations: config.auth.argon2Iterations, parallelism: config.auth.argon2Parallelism }),
    secretBox,
    clock: systemClock,
    log,
    totpIssuer: config.auth.totpIssuer,
    credentialCache: { ttlSeconds: 0, maxEntries: 1 },
    audit: config.audit,
  });
  const org = await core.load();
  return { store, core, key, secretBox, migrated, org, sso };
}

function out(line: string): void {
  process.stdout.write(line + '\n');
}

async function run(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('gatehouse').description('Gatehouse operator commands (configuration from GATEHOUSE_* and GATEHOUSE_CONFIG)').showHelpAfterError();
  const config = () => loadConfig();

  program
    .command('print-default-config')
    .description('print the default configuration with every key documented (config/default.yaml)')
    .action(() => {
      process.stdout.write(renderDefaultConfig());
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      await withCore(config(), async ({ migrated }) => out(migrated.length ? `applied: ${migrated.join(', ')}` : 'schema is up to date'));
    });

  program
    .command('create-api-key')
    .description('create an API key for the REST API (x-api-key) and print it once')
    .option('--name <name>', 'a label for the key', 'cli')
    .option('--admin <email>', 'the admin the key acts for (default: the first admin)')
    .action(async (opts: { name: string; admin?: string }) => {
      await withCore(config(), async ({ core, org }) => {
        if (!org) throw new Error('the store is empty: start the appliance once (or import a backup) first');
        const admins = await core.admins.list();
        const admin = opts.admin ? admins.find((a) => a.email === opts.admin!.toLowerCase()) : admins[0];
        if (opts.admin && !admin) throw new Error(`no admin ${opts.admin}`);
        const { key } = await core.apiKeys.create(opts.name, admin?.id ?? null, cliActor);
        out(key);
      });
    });

  program
    .command('reset-admin-password')
    .description('set a new password for an admin (and clear its lockout); prints a generated one unless --password-file is given')
    .requiredOption('--email <email>', 'the admin')
    .option('--password-file <file>', 'read the new password from this file')
    .action(async (opts: { email: string; passwordFile?: string }) => {
      const password = opts.passwordFile ? readFileSync(opts.passwordFile, 'utf8').replace(/\r?\n$/, '') : generatePassword();
      await withCore(config(), async ({ core }) => {
        await core.admins.resetPassword(opts.email, password, cliActor);
        out(opts.passwordFile ? `password of ${opts.email} changed` : password);
      });
    });

  program
    .command('export')
    .description('write the directory (users with password hashes, sealed TOTP seeds, groups, associations, servers, apps) as JSON')
    .option('--out <file>', 'write to this file (mode 0600) instead of standard output')
    .option('--passphrase-file <file>', 're-seal secrets with a passphrase (or GATEHOUSE_EXPORT_PASSPHRASE) so another instance can import them')
    .action(async (opts: { out?: string; passphraseFile?: string }) => {
      const passphrase = readSecretArg(opts.passphraseFile, 'GATEHOUSE_EXPORT_PASSPHRASE');
      await withCore(config(), async ({ store, secretBox, key, sso }) => {
        const doc = await exportDirectory(store, secretBox, key, passphrase, sso);
        const json = JSON.stringify(doc, null, 2) + '\n';
        if (opts.out) writeFileSync(opts.out, json, { mode: 0o600 });
        else process.stdout.write(json);
        if (!passphrase) {
          process.stderr.write(
            'note: secrets in this export stay sealed with this instance\'s secret key; to import elsewhere, configure the same key (GATEHOUSE_SECRET_KEY or data/secret.key) or export with --passphrase-file\n',
          );
        }
        process.stderr.write(`exported ${doc.users.length} users, ${doc.userGroups.length} user groups\n`);
      });
    });

  program
    .command('import <file>')
    .description('restore an export into an empty data directory or database')
    .option('--passphrase-file <file>', 'the passphrase the export was made with (or GATEHOUSE_EXPORT_PASSPHRASE)')
    .option('--secret-key-file <file>', "the source instance's data/secret.key, for an export made without a passphrase")
    .action(async (file: string, opts: { passphraseFile?: string; secretKeyFile?: string }) => {
      const passphrase = readSecretArg(opts.passphraseFile, 'GATEHOUSE_EXPORT_PASSPHRASE');
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
      } catch (err) {
        throw new Error(`cannot read ${file}: ${(err as Error).message}`);
      }
      const cfg = config();
      // Decide the target's secret key before anything is written, so a refused import leaves no new key behind.
      const secrets = (raw as Partial<ExportDocument> | null)?.secrets;
      if (secrets?.mode === 'instance-key') {
        const current = findSecretKey(cfg.secretKey, cfg.dataDir);
        if (opts.secretKeyFile) {
          const given = parseSecretKey(readFileSync(opts.secretKeyFile, 'utf8'));
          if (secretKeyId(given) !== secrets.keyId) throw new Error(`${opts.secretKeyFile} is not the key this export was sealed with`);
          if (!current) writeSecretKey(cfg.dataDir, given);
          else if (!current.equals(given)) throw new Error('the target already has a different secret key; import into an empty data directory');
        } else if (!current || secretKeyId(current) !== secrets.keyId) {
          throw new Error(
            "this export's secrets are sealed with the source instance's key: pass --secret-key-file <source data/secret.key> (or set GATEHOUSE_SECRET_KEY), or re-export with --passphrase-file",
          );
        }
      }
      await withCore(cfg, async ({ store, secretBox, key, sso }) => {
        const r = await importDirectory(store, raw, secretBox, key, passphrase, sso);
        out(`imported ${r.users} users, ${r.groups} user groups`);
      });
    });

  await program.parseAsync(argv);
}

run(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || isDomainError(err) || err instanceof Error) {
    process.stderr.write(`gatehouse: ${err.message}\n`);
  } else {
    process.stderr.write(`gatehouse: ${String(err)}\n`);
  }
  process.exit(1);
});
