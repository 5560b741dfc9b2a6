import { fold } from '../util/fold.js';

/**
 * Distinguished names (RFC 4514). Written here rather than taken from @ldapjs/dn, which loses
 * escaped characters (`cn=a\+b` parses as `cn=a`), because a DN decides which entry a bind or a
 * search addresses.
 */

export interface Ava {
  /** Attribute type, lower-cased. */
  type: string;
  value: string;
}

/** A DN as a list of RDNs, most specific first; each RDN is one or more attribute-value pairs. */
export type Dn = Ava[][];

export class DnSyntaxError extends Error {}

const HEX = /^[0-9a-fA-F]{2}$/;
/** Characters that may follow a backslash (RFC 4514 §3: ESC, special and escaped). */
const ESCAPABLE = '\\"+,;<> #=';

/** Parses a DN string; throws DnSyntaxError. The empty string is the empty DN (the Root DSE). */
export function parseDn(text: string): Dn {
  // Only leading blanks go here: a trailing space may be escaped (`cn=a\ `), readValue handles it.
  const s = text.replace(/^\s+/, '');
  if (s.trim() === '') return [];
  if (s.length > 4096) throw new DnSyntaxError('DN too long');
  const rdns: Dn = [];
  let rdn: Ava[] = [];
  let i = 0;
  const n = s.length;

  const readType = (): string => {
    while (i < n && s[i] === ' ') i++;
    const start = i;
    while (i < n && /[A-Za-z0-9.\-;]/.test(s[i]!)) i++;
    const type = s.slice(start, i);
    while (i < n && s[i] === ' ') i++;
    if (!type || s[i] !== '=') throw new DnSyntaxError('expected attribute=value');
    i++;
    // Options such as ";binary" are not meaningful in a DN here.
    return type.toLowerCase().split(';')[0]!;
  };

  const readValue = (): string => {
    while (i < n && s[i] === ' ') i++;
    if (s[i] === '#') {
      // A BER-encoded value: only strings matter to this directory; keep the hex form.
      const start = i;
      i++;
      while (i < n && /[0-9a-fA-F]/.test(s[i]!)) i++;
      return s.slice(start, i);
    }
    // Plain characters are copied as they are; only hex escapes are bytes (`\C3\A9` is one
    // character), decoded as UTF-8 once a run of them ends. A plain character always starts a new
    // UTF-8 sequence, so decoding each run alone gives what decoding all the bytes at once would.
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8');
      bytes = [];
    };
    let trailingSpaces = 0;
    while (i < n) {
      const c = s[i]!;
      if (c === ',' || c === '+' || c === ';') break;
      if (c === '\\') {
        const pair = s.slice(i + 1, i + 3);
        if (HEX.test(pair)) {
          bytes.push(parseInt(pair, 16));
          i += 3;
        } else if (i + 1 < n && ESCAPABLE.includes(s[i + 1]!)) {
          flush();
          out += s[i + 1];
          i += 2;
        } else {
          throw new DnSyntaxError(i + 1 < n ? `invalid escape \\${s[i + 1]}` : 'dangling escape');
        }
        trailingSpaces = 0;
        continue;
      }
      // RFC 4514 §3: these must be escaped inside a value ("=" may appear as is).
      if (c === '"' || c === '<' || c === '>') throw new DnSyntaxError(`unescaped ${c}`);
      flush();
      const code = s.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdfff) {
        // A surrogate pair is one character; a lone surrogate is not text (UTF-8 has no form for it).
        const cp = s.codePointAt(i)!;
        out += cp > 0xffff ? String.fromCodePoint(cp) : '\ufffd';
        i += cp > 0xffff ? 2 : 1;
        trailingSpaces = 0;
        continue;
      }
      out += c;
      trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
      i++;
    }
    flush();
    // Unescaped trailing spaces are not part of the value (RFC 4514 §3).
    return trailingSpaces > 0 ? out.slice(0, out.length - trailingSpaces) : out;
  };

  while (i < n) {
    const type = readType();
    const value = readValue();
    rdn.push({ type, value });
    if (i >= n) break;
    const sep = s[i];
    i++;
    if (i >= n) throw new DnSyntaxError('trailing separator');
    if (sep === '+') continue;
    rdns.push(rdn);
    rdn = [];
  }
  rdns.push(rdn);
  return rdns;
}

/** Escapes a value for a DN string (RFC 4514 §2.4). */
export function escapeDnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/\u0000/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

export function formatDn(dn: Dn): string {
  return dn.map((rdn) => rdn.map((a) => `${a.type}=${escapeDnValue(a.value)}`).join('+')).join(',');
}

/** Attribute values in DNs compare case-insensitively here (every naming attribute is caseIgnore). */
export const foldValue = fold;

export function sameRdn(a: Ava[], b: Ava[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => b.some((y) => y.type === x.type && foldValue(y.value) === foldValue(x.value)));
}

/** `dn` ends with `suffix` (is it, or is below it). */
export function endsWith(dn: Dn, suffix: Dn): boolean {
  if (suffix.length > dn.length) return false;
  const offset = dn.length - suffix.length;
  return suffix.every((rdn, k) => sameRdn(dn[offset + k]!, rdn));
}
