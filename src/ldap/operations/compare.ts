import type { LdapRequest } from '@ldapjs/messages';
import { encodeResult, OP } from '../codec.js';
import { refreshPrincipal, type OperationContext } from '../context.js';
import { DnSyntaxError, foldValue } from '../dn.js';
import { attributeMap, toGroupEntry, toOrgEntry, toUserEntry, toUsersOuEntry, type Entry } from '../entries.js';
import { RESULT } from '../result-codes.js';

/**
 * Compare (RFC 4511 §4.10) on entries the session may read. Only directory attributes exist in an
 * entry view, so a compare can never probe a password or a TOTP seed.
 */
export async function compare(req: LdapRequest, ctx: OperationContext): Promise<void> {
  const { deps, tree, session } = ctx;
  const reply = (code: number, message = '') => ctx.send(encodeResult(req.messageId, OP.compareResponse, { code, message }));
  await refreshPrincipal(ctx);
  if (!deps.directory.canRead(session.principal)) return reply(RESULT.insufficientAccessRights, 'anonymous access is limited to the Root DSE');
  let entry: Entry | null = null;
  try {
    const loc = tree.locateString(req.entry ?? '');
    if (loc.kind === 'user') {
      const found = await deps.directory.users(session.principal, { op: 'eq', attr: 'username', value: loc.username }, { offset: 0, limit: 1 });
      if (found.items[0]) entry = toUserEntry(tree, found.items[0], deps.config);
    } else if ((loc.kind === 'org' || loc.kind === 'ou') && deps.directory.canSearchDirectory(session.principal)) {
      const org = await deps.organization();
      entry = loc.kind === 'org' ? toOrgEntry(tree, org.displayName, org.createdAt) : toUsersOuEntry(tree, org.createdAt);
    } else if (loc.kind === 'group') {
      const found = await deps.directory.groups(session.principal, { op: 'eq', attr: 'name', value: loc.name }, { offset: 0, limit: 1 });
      if (found.items[0]) entry = toGroupEntry(tree, found.items[0]);
    }
  } catch (err) {
    if (err instanceof DnSyntaxError) return reply(RESULT.invalidDnSyntax, 'invalid DN');
    throw err;
  }
  if (!entry) return reply(RESULT.noSuchObject, 'no such entry');
  const values = attributeMap(entry).get((req.attribute ?? '').toLowerCase());
  if (!values) return reply(RESULT.noSuchAttribute, 'no such attribute');
  const wanted = foldValue(String(req.value ?? ''));
  return reply(values.some((v) => foldValue(v) === wanted) ? RESULT.compareTrue : RESULT.compareFalse);
}
