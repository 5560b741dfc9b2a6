import type { AuditActor } from '../audit/event.js';

/**
 * Who is asking for a directory change, and from where: recorded as `initiated_by`,
 * `client_ip` and `auth_method` on the audit event of every write.
 */
export interface ActorContext {
  actor: AuditActor;
  clientIp: string;
  /** JumpCloud's `auth_method`: `api key`, `session`, `cli` for the operator's command line, `ldap` for a bound LDAP user. */
  authMethod: 'api key' | 'session' | 'cli' | 'system' | 'ldap';
}

export const systemActor: ActorContext = { actor: { type: 'system' }, clientIp: '', authMethod: 'system' };

export function auditContext(ctx: ActorContext) {
  return { initiated_by: ctx.actor, client_ip: ctx.clientIp, auth_method: ctx.authMethod };
}
