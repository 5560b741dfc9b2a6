import './util/threadpool.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createAppliance } from './appliance.js';

/** Process entry: load config, create the appliance, start it, stop cleanly on SIGTERM/SIGINT, reload TLS on SIGHUP. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  let appliance;
  let reloadTls: (() => unknown) | undefined;
  // As nginx and slapd's admins expect: SIGHUP re-reads what can change without a restart, here the
  // TLS key and certificate in certs/ (after a renewal); the outcome is logged either way. Handled
  // from the first moment, so that a SIGHUP during migrations does not end the process (the default).
  process.on('SIGHUP', () => void reloadTls?.());
  try {
    appliance = await createAppliance(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  reloadTls = appliance.reloadTls;
  if (appliance.bootstrap.generatedAdminPassword) {
    // Printed once, on the terminal only: the log never carries a password.
    process.stderr.write(
      `\n  Gatehouse bootstrap admin: ${appliance.bootstrap.adminEmail}\n  Password (shown once, change it): ${appliance.bootstrap.generatedAdminPassword}\n\n`,
    );
  }
  await appliance.start();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    appliance.log.info({ signal }, 'stopping');
    appliance
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        appliance.log.error({ err }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Every socket handler catches its own errors; an exception that still escapes is a bug after which
  // state (locks, half-written replies) cannot be trusted: log its cause and exit so that the
  // supervisor (systemd, Docker restart policy) starts a clean process.
  process.on('uncaughtException', (err) => {
    appliance.log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => appliance.log.error({ err }, 'unhandled rejection'));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`gatehouse: failed to start: ${message}\n`);
  process.exit(1);
});
