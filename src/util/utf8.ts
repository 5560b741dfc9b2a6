const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of octets that are UTF-8, or null. Node's `toString('utf8')` turns every invalid
 * sequence into U+FFFD, so different octets would read as the same text (a RADIUS password, an LDAP
 * assertion value shown in the audit trail).
 */
export function decodeUtf8Strict(b: Uint8Array): string | null {
  try {
    return strict.decode(b);
  } catch {
    return null;
  }
}
