import type { AuditRecorder } from '../core/audit/recorder.js';
import type { AuthPipeline } from '../core/auth/authenticate.js';
import type { LdapDirectory, LdapPrincipal } from '../core/directory/ldap-directory.js';
import type { Organization } from '../core/directory/organization.js';
import type { UserService } from '../core/directory/users.js';
import type { Logger } from '../core/ports.js';
import type { Tree } from './tree.js';

/** The LDAP slice of the configuration (see `ldap.*` in config/default.yaml). */
export interface LdapConfig {
  suffix: string;
  requireTls: boolean;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxPduBytes: number;
  maxOutstandingPerConnection: number;
  /** Largest PDU from a connection that has not bound; a bound one gets `maxPduBytes`. */
  maxPduBytesBeforeBind: number;
  /** Bytes of received requests one connection may hold before it stops reading. */
  maxQueuedBytesPerConnection: number;
  /** The same, for all connections of the server together. */
  maxQueuedBytesTotal: number;
  /** Idle timeout of a connection that is not bound (capped by `idleTimeoutSeconds`). */
  unboundIdleTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  operationTimeoutSeconds: number;
  maxSizeLimit: number;
  maxPageSize: number;
  totpSeparator: string;
  homeDirectoryPrefix: string;
  loginShell: string;
}

/** What the LDAP adapter needs from core, and nothing more. */
export interface LdapDeps {
  auth: AuthPipeline;
  directory: LdapDirectory;
  users: Pick<UserService, 'setPassword'>;
  audit: AuditRecorder;
  organization: () => Promise<Organization>;
  log: Logger;
  config: LdapConfig;
  version: string;
}

/** One client connection's LDAP state. The bound identity is tracked here, never by ldapjs. */
export interface SessionState {
  readonly id: string;
  readonly remoteAddress: string;
  tls: boolean;
  principal: LdapPrincipal;
  /** The DN of the bound user, normalised; '' when anonymous. */
  boundDn: string;
}

/** Everything an operation handler gets. `send` waits when the socket is saturated. */
export interface OperationContext {
  deps: LdapDeps;
  tree: Tree;
  session: SessionState;
  send(pdu: Buffer): Promise<void>;
  /** Time the operation must finish by (epoch ms). */
  deadline: number;
  /** True once the client abandoned this operation (RFC 4511 §4.11): stop, answer nothing. */
  abandoned(): boolean;
  /** True once the operation was answered without it (timed out, or failed): what it sends is dropped. */
  cancelled(): boolean;
}

export function actorOf(session: SessionState) {
  return session.principal.kind === 'user'
    ? { id: session.principal.user.id, type: 'user' as const, username: session.principal.user.username }
    : { type: 'user' as const, username: '' };
}

/**
 * Re-checks the bound identity before an operation (LdapDirectory.current): a connection whose user
 * was suspended, locked or unbound since the bind continues as anonymous.
 */
export async function refreshPrincipal(ctx: OperationContext): Promise<void> {
  const { session } = ctx;
  const checked = session.principal;
  if (checked.kind !== 'user') return;
  const now = await ctx.deps.directory.current(checked);
  // An operation that timed out runs on while the next ones are answered: a bind made meanwhile
  // set the session's identity, which this older check must not overwrite.
  if (session.principal !== checked) return;
  session.principal = now;
  if (now.kind !== 'user') session.boundDn = '';
}
