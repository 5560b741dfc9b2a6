import nodemailer from 'nodemailer';
import type { SmtpSettings } from './smtp-settings.js';

/** One email, as text and HTML alternatives. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends mail through an SMTP relay. Core composes the messages; this only delivers them. */
export interface MailTransport {
  /** Resolves once the relay accepted the message; throws with a message naming the cause otherwise. */
  send(settings: SmtpSettings, message: MailMessage): Promise<void>;
}

/**
 * nodemailer over SMTP. A transport is built per message from the current settings (they change in
 * the console), with bounded timeouts so that a dead relay fails a send instead of hanging it.
 * `none` never upgrades (a loopback relay), `starttls` requires the upgrade (RFC 3207), `tls` is
 * implicit TLS (RFC 8314 §3.3).
 */
export function createSmtpTransport(o: { timeoutMs?: number } = {}): MailTransport {
  const timeout = o.timeoutMs ?? 15_000;
  return {
    async send(s, m) {
      const transport = nodemailer.createTransport({
        host: s.host,
        port: s.port,
        secure: s.security === 'tls',
        requireTLS: s.security === 'starttls',
        ignoreTLS: s.security === 'none',
        ...(s.username ? { auth: { user: s.username, pass: s.password } } : {}),
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      });
      try {
        await transport.sendMail({ from: s.from, to: m.to, subject: m.subject, text: m.text, html: m.html });
      } finally {
        transport.close();
      }
    },
  };
}
