import { invalid } from '../errors.js';
import * as v from '../directory/validate.js';

/** How the SMTP connection is secured: none (loopback relays), STARTTLS (port 587) or implicit TLS (port 465). */
export type SmtpSecurity = 'none' | 'starttls' | 'tls';
export const SMTP_SECURITY: readonly SmtpSecurity[] = ['none', 'starttls', 'tls'];

/** The SMTP relay activation and reset emails go through. An empty host means email is off. */
export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
  /** In clear only in memory, on the way to the transport; stored sealed (context `smtp-password`). */
  password: string;
  /** The From header, e.g. `Gatehouse <no-reply@example.com>`. */
  from: string;
}

/** What the console may show of the settings: never the password, only whether one is set. */
export interface SmtpSettingsView extends Omit<SmtpSettings, 'password'> {
  hasPassword: boolean;
  /** Where the values come from: saved in Settings, or the configuration file's defaults. */
  source: 'settings' | 'config';
}

/** The stored document (key `smtp`). */
export interface StoredSmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string;
  sealedPassword: string;
  from: string;
}

export const SMTP_PASSWORD_CONTEXT = 'smtp-password';

/** Fields from the Settings form; `password` empty keeps the stored one, `clearPassword` removes it. */
export interface SmtpSettingsFields {
  host?: unknown;
  port?: unknown;
  security?: unknown;
  username?: unknown;
  password?: unknown;
  clearPassword?: unknown;
  from?: unknown;
}

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$/;

/** Validates the form fields (field-level errors) into settings without the password. */
export function parseSmtpFields(f: SmtpSettingsFields): Omit<SmtpSettings, 'password'> {
  const host = v.text('smtp.host', f.host, 253);
  if (host && !HOST.test(host)) throw invalid('smtp.host', 'must be a host name or an IP address');
  const port = v.int('smtp.port', typeof f.port === 'string' && /^\d+$/.test(f.port) ? Number(f.port) : f.port, 1, 65535);
  const security = v.oneOf('smtp.security', f.security, SMTP_SECURITY);
  const username = v.text('smtp.username', f.username, 256);
  const from = v.text('smtp.from', f.from, 320, { required: true });
  if (!/^[^<>@\s]+@[^<>@\s]+$|^[^<>]*<[^<>@\s]+@[^<>@\s]+>$/.test(from)) {
    throw invalid('smtp.from', 'must be an address such as no-reply@example.com or "Gatehouse <no-reply@example.com>"');
  }
  return { host, port, security, username, from };
}
