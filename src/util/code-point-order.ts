/**
 * Orders strings by Unicode code point, which is how SQLite (BINARY) and PostgreSQL (COLLATE "C")
 * compare the UTF-8 the store holds; JavaScript's `<` compares UTF-16 units, which puts characters
 * above U+FFFF (surrogate pairs) before U+E000–U+FFFF. Ordering filters and the orders of
 * answers built in memory must be the ones the database gives.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800–DFFF) move above E000–FFFF; both keep their order among themselves.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
