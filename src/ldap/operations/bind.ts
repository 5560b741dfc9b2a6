import type { LdapRequest } from '@ldapjs/messages';
import { encodeResult, OP } from '../codec.js';
import type { OperationContext } from '../context.js';
import { RESULT } from '../result-codes.js';
import { decodeUtf8Strict } from '../../util/utf8.js';

/**
 * Simple bind (RFC 4513 §5.1). The session becomes anonymous before anything is checked, so a
 * failed re-bind never keeps the previous identity (§4.2.1 of RFC 4511). Every failure answers
 * invalidCredentials the same way and costs one password verification whether or not the user
 * exists; the audit event (`ldap_bind`, written by core) records the real reason.
 */
export async function bind(req: LdapRequest, ctx: OperationContext): Promise<void> {
  const { session, deps, tree } = ctx;
  session.principal = { kind: 'anonymous' };
  session.boundDn = '';
  const reply = (code: number, message = '') => ctx.send(encodeResult(req.messageId, OP.bindResponse, { code, message }));
  /**
   * Refusals decided before the pipeline runs still leave an `ldap_bind` event, within the budget of
   * requests that checked no password (they cost the peer nothing; see recordUnauthenticated).
   */
  const refuse = (code: number, message: string) => {
    deps.audit.recordUnauthenticated({
      event_type: 'ldap_bind',
      service: 'ldap',
      success: false,
      client_ip: session.remoteAddress,
      initiated_by: { type: 'user', username: '' },
      username: '',
      dn: (req.name ?? '').slice(0, 512),
      tls: session.tls,
      mfa: false,
      error_message: message,
    });
    return reply(code, message);
  };

  if (req.version !== 3) return refuse(RESULT.protocolError, 'only LDAPv3 is supported');
  const name = (req.name ?? '').trim();
  const text = Buffer.isBuffer(req.credentials) ? decodeUtf8Strict(req.credentials) : (req.credentials ?? '');
  // Passwords are UTF-8 text; octets that are not UTF-8 match none (compared as octets, as RADIUS
  // PAP is). Refused like any wrong password, audited with the reason, not counted as a guess.
  if (text === null) return refuse(RESULT.invalidCredentials, 'password is not UTF-8 text');
  const credentials = text;

  // §5.1.1 anonymous: empty name and password.
  if (name === '' && credentials === '') return reply(RESULT.success);
  // §5.1.2 unauthenticated (a name without a password): refused, never treated as anonymous.
  if (credentials === '') return refuse(RESULT.unwillingToPerform, 'unauthenticated bind (DN with no password) disallowed');
  if (deps.config.requireTls && !session.tls) return refuse(RESULT.confidentialityRequired, 'TLS required for binds (use LDAPS or StartTLS)');

  // Only a user's DN binds (contract: simple binds with the user DN): not a bare username or email,
  // and the uid of the DN is matched against usernames only.
  let username = '';
  try {
    const loc = tree.locateString(name);
    if (loc.kind === 'user') username = loc.username;
  } catch {
    /* a malformed DN fails like an unknown user */
  }
  const outcome = await deps.auth.authenticate({
    protocol: 'ldap',
    // A DN that names no user still goes through the pipeline (dummy verification, audit event).
    login: username,
    loginBy: 'username',
    password: credentials,
    otpInPassword: deps.config.totpSeparator,
    clientIp: session.remoteAddress,
    resource: await deps.directory.resource(),
    audit: { dn: name.slice(0, 512), tls: session.tls },
  });
  if (outcome.status !== 'ok') return reply(RESULT.invalidCredentials);
  // Past the deadline the connection has already answered this bind with `busy` and may have moved
  // on: the late success must not make the session authenticated (RFC 4511 §4.2.1). (If the
  // timer has not fired yet, this answer is the one the client gets; otherwise it is dropped.)
  if (Date.now() >= ctx.deadline) return reply(RESULT.busy, 'operation timed out');
  session.principal = { kind: 'user', user: outcome.user };
  session.boundDn = tree.userDn(outcome.user.username);
  // A bind account looks users up next: the user index is read now rather than on its first search.
  if (outcome.user.ldapBindingUser) deps.directory.warmUserIndex();
  return reply(RESULT.success);
}
