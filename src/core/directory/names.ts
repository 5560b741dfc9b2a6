import type { User } from './types.js';

/**
 * A user's common name as directories show it (LDAP `cn`, SAML display attributes): "First Last"
 * when a name is set, else the display name, else the username. The store keeps a folded copy for
 * matching (`cn=…` filters), computed by this same function.
 */
export function commonName(u: Pick<User, 'firstname' | 'lastname' | 'displayname' | 'username'>): string {
  return `${u.firstname} ${u.lastname}`.trim() || u.displayname || u.username;
}

// Control characters have no place in directory text and break LDIF, logs and CSV exports.
export const CONTROL = /[\u0000-\u001f\u007f]/;

// Unicode noncharacters (U+FDD0–U+FDEF and the last two code points of every plane) are not for
// interchange; U+FFFE and U+FFFF are not even XML 1.0 characters, so a SAML assertion could not
// carry a value holding them.
export const NONCHARACTER = /[\uFDD0-\uFDEF\uFFFE\uFFFF]|[\uD83F\uD87F\uD8BF\uD8FF\uD93F\uD97F\uD9BF\uD9FF\uDA3F\uDA7F\uDABF\uDAFF\uDB3F\uDB7F\uDBBF\uDBFF][\uDFFE\uDFFF]/;

/**
 * Whether `s` could be stored directory text (validate.ts refuses control characters and lone
 * surrogates). Text that could not names nothing: lookups answer it without the store, where
 * PostgreSQL would refuse a NUL in a parameter.
 */
export function couldBeStoredText(s: string): boolean {
  return !CONTROL.test(s) && !NONCHARACTER.test(s) && s.isWellFormed();
}
