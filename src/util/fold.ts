/**
 * Unicode case folding for case-insensitive matching (NFC, then lower case; locale-independent):
 * how the store's folded columns, LDAP's caseIgnore values and directory names compare.
 */
export function fold(s: string): string {
  return s.normalize('NFC').toLowerCase();
}
