import type { LdapRequest } from '@ldapjs/messages';
import { encodeResult, OP } from '../codec.js';
import { refreshPrincipal, type OperationContext } from '../context.js';
import { DnSyntaxError, foldValue } from '../dn.js';
import { attributeMap, matchedDn, visibleEntry } from '../entries.js';
import { RESULT } from '../result-codes.js';
import { attributeType, isValidValue, objectClassName, syntaxOf } from '../subschema.js';
import type { Location } from '../tree.js';

/** RFC 4511 Appendix A codes that only compare answers (result-codes.ts does not list them). */
const UNDEFINED_ATTRIBUTE_TYPE = 17;
const INVALID_ATTRIBUTE_SYNTAX = 21;

/**
 * Compare (RFC 4511 §4.10) on entries the session may read. Only directory attributes exist in an
 * entry view, so a compare can never probe a password or a TOTP seed.
 *
 * As in slapd, the assertion is checked before the entry is looked up: an attribute type the
 * schema does not define is undefinedAttributeType (17), a value its syntax rejects is
 * invalidAttributeSyntax (21); a known type the entry lacks is noSuchAttribute (16).
 */
export async function compare(req: LdapRequest, ctx: OperationContext): Promise<void> {
  const { deps, tree, session } = ctx;
  const reply = (code: number, message = '', matched = '') => ctx.send(encodeResult(req.messageId, OP.compareResponse, { code, message, matchedDn: matched }));
  await refreshPrincipal(ctx);
  const dn = req.entry ?? '';
  let loc: Location;
  try {
    loc = tree.locateString(dn);
  } catch (err) {
    if (err instanceof DnSyntaxError) return reply(RESULT.invalidDnSyntax, 'invalid DN');
    throw err;
  }
  // The Root DSE and the subschema subentry are readable by anyone (RFC 4512 §5.1, §4.2), so
  // compares on them are answered anonymously too, as slapd does.
  const open = loc.kind === 'root' || loc.kind === 'subschema';
  if (!open && !deps.directory.canRead(session.principal)) {
    return reply(RESULT.insufficientAccessRights, 'anonymous access is limited to the Root DSE and cn=Subschema');
  }
  const description = req.attribute ?? '';
  const type = attributeType(description);
  if (!type) return reply(UNDEFINED_ATTRIBUTE_TYPE, 'undefined attribute type');
  const value = String(req.value ?? '');
  if (!isValidValue(syntaxOf(type), value)) return reply(INVALID_ATTRIBUTE_SYNTAX, `value is not valid for ${type.names[0]}`);

  const entry = await visibleEntry(ctx, loc);
  if (!entry) return reply(RESULT.noSuchObject, 'no such entry', await matchedDn(ctx, dn));
  // Entries carry no attribute options (RFC 4512 §2.5: `cn;lang-en` names values none has).
  const values = description.includes(';') ? undefined : attributeMap(entry).get(type.names[0]!.toLowerCase());
  if (!values) return reply(RESULT.noSuchAttribute, 'no such attribute');
  // The type's equality rule: caseExact* (memberUid, homeDirectory, loginShell: RFC 2307) compare as
  // given, as the search filters do; the others without case.
  const exact = type.equality?.startsWith('caseExact') === true;
  // objectIdentifierMatch (objectClass): a class's OID is its name (RFC 4517 §4.2.26).
  const asked = type.equality === 'objectIdentifierMatch' ? objectClassName(value) : value;
  const same = exact ? (v: string) => v === asked : ((wanted) => (v: string) => foldValue(v) === wanted)(foldValue(asked));
  return reply(values.some(same) ? RESULT.compareTrue : RESULT.compareFalse);
}
