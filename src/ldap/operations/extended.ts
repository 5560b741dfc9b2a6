import type { LdapRequest } from '@ldapjs/messages';
import { generateCompliantPassword } from '../../core/auth/password-policy.js';
import { isDomainError } from '../../core/errors.js';
import { encodeExtendedResponse, encodePasswordModifyResponse } from '../codec.js';
import { actorOf, refreshPrincipal, type OperationContext } from '../context.js';
import { parseDn } from '../dn.js';
import { EXTENSIONS } from '../entries.js';
import { RESULT } from '../result-codes.js';

interface PasswordModifyValue {
  userIdentity?: string;
  oldPassword?: string;
  newPassword?: string;
}

/**
 * Password Modify (RFC 3062), for the bound user's own password, under the password policy.
 * The old password, when given, is checked through the authentication pipeline (so guesses count
 * towards lockout); without a new password one is generated and returned (genPasswd).
 */
export async function passwordModify(req: LdapRequest, ctx: OperationContext): Promise<void> {
  const { session, deps, tree } = ctx;
  const reply = (code: number, message = '', value?: Buffer) =>
    ctx.send(encodeExtendedResponse(req.messageId, { code, message, ...(value ? { value } : {}) }));
  await refreshPrincipal(ctx);
  if (session.principal.kind !== 'user') return reply(RESULT.unwillingToPerform, 'only an authenticated user may change a password');
  if (deps.config.requireTls && !session.tls) return reply(RESULT.confidentialityRequired, 'TLS required to change a password');
  const user = session.principal.user;
  const v = (req.requestValue && typeof req.requestValue === 'object' && !Buffer.isBuffer(req.requestValue) ? req.requestValue : {}) as PasswordModifyValue;

  if (v.userIdentity !== undefined && v.userIdentity !== '') {
    // userIdentity is a DN or an authzId ("dn:…", "u:…"); it must name the bound user.
    const id = v.userIdentity;
    let username = '';
    if (/^u:/i.test(id)) username = id.slice(2).toLowerCase();
    else {
      try {
        const loc = tree.locate(parseDn(id.replace(/^dn:/i, '')));
        if (loc.kind === 'user') username = loc.username;
      } catch {
        return reply(RESULT.insufficientAccessRights, 'users may change only their own password');
      }
    }
    if (username !== user.username) return reply(RESULT.insufficientAccessRights, 'users may change only their own password');
  }

  if (v.oldPassword !== undefined && v.oldPassword !== '') {
    // The session's bind already passed the second factor; oldPasswd (RFC 3062 §2) is the password
    // alone. Asking for a code here would audit every change by an enrolled user as a failed bind.
    const resource = { ...(await deps.directory.resource()), mfa: 'none' as const };
    const check = await deps.auth.authenticate({
      protocol: 'ldap',
      login: user.username,
      password: v.oldPassword,
      clientIp: session.remoteAddress,
      resource,
      audit: { dn: session.boundDn, operation: 'password_modify' },
    });
    if (check.status !== 'ok') return reply(RESULT.invalidCredentials, 'old password is not correct');
  }

  const generated =
    v.newPassword === undefined || v.newPassword === '' ? generateCompliantPassword((await deps.organization()).settings.passwordPolicy) : undefined;
  try {
    await deps.users.setPassword(user.id, generated ?? v.newPassword!, {
      actor: actorOf(session),
      clientIp: session.remoteAddress,
      authMethod: 'ldap',
    });
  } catch (err) {
    if (isDomainError(err) && err.kind === 'invalid') return reply(RESULT.constraintViolation, err.message);
    throw err;
  }
  return reply(RESULT.success, '', generated === undefined ? undefined : encodePasswordModifyResponse(generated));
}

/** "Who am I?" (RFC 4532): the bound identity as an authzId, empty when anonymous. */
export async function whoAmI(req: LdapRequest, ctx: OperationContext): Promise<void> {
  // RFC 4532 §2: the request has no requestValue (as StartTLS's, RFC 4511 §4.14.1).
  if (req.requestValue !== undefined && req.requestValue !== null) {
    return ctx.send(encodeExtendedResponse(req.messageId, { code: RESULT.protocolError, message: 'the WhoAmI request takes no value' }));
  }
  await refreshPrincipal(ctx);
  const authzId = ctx.session.boundDn ? `dn:${ctx.session.boundDn}` : '';
  return ctx.send(encodeExtendedResponse(req.messageId, { code: RESULT.success, value: Buffer.from(authzId, 'utf8') }));
}

export const EXTENDED_HANDLERS: Record<string, (req: LdapRequest, ctx: OperationContext) => Promise<void>> = {
  [EXTENSIONS.passwordModify]: passwordModify,
  [EXTENSIONS.whoAmI]: whoAmI,
};
