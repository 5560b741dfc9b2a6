import { isIP } from 'node:net';
import { invalid } from '../errors.js';
import { parseBlock } from '../../util/ip-block.js';
import { CONTROL, NONCHARACTER } from './names.js';
import type { NameValue } from './types.js';

/**
 * Field checks shared by the directory services. Each throws a DomainError naming the field, so
 * that the API answers 400 with a message a script author can act on.
 */


export function text(field: string, value: unknown, max = 256, { required = false } = {}): string {
  if (value === undefined || value === null) {
    if (required) throw invalid(field, 'is required');
    return '';
  }
  if (typeof value !== 'string') throw invalid(field, 'must be a string');
  const v = value.normalize('NFC').trim();
  if (required && v === '') throw invalid(field, 'must not be empty');
  if ([...v].length > max) throw invalid(field, `must be at most ${max} characters`);
  if (CONTROL.test(v)) throw invalid(field, 'must not contain control characters');
  // A lone surrogate has no UTF-8 form: each store would keep a different replacement.
  if (!v.isWellFormed() || NONCHARACTER.test(v)) throw invalid(field, 'must be valid Unicode text');
  return v;
}

/** Lower-case POSIX-friendly login name; no `@` so that it never collides with an email login. */
export function username(value: unknown, field = 'username'): string {
  const v = text(field, value, 64, { required: true }).toLowerCase();
  if (!/^[a-z0-9_][a-z0-9._-]*$/.test(v)) {
    throw invalid(field, 'may contain only letters, digits, ".", "_" and "-", and must not start with "." or "-"');
  }
  return v;
}

export function email(value: unknown, field = 'email'): string {
  const v = text(field, value, 254, { required: true }).toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) throw invalid(field, 'must be an email address');
  return v;
}

export function bool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(field, 'must be true or false');
  return value;
}

export function int(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], { caseInsensitive = false } = {}): T {
  const v = typeof value === 'string' && caseInsensitive ? value.toLowerCase() : value;
  const found = allowed.find((a) => (caseInsensitive ? a.toLowerCase() === v : a === v));
  if (found === undefined) throw invalid(field, `must be one of ${allowed.join(', ')}`);
  return found;
}

export function date(field: string, value: unknown): Date | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value !== 'string' && typeof value !== 'number') throw invalid(field, 'must be an ISO 8601 date');
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw invalid(field, 'must be an ISO 8601 date');
  return d;
}

export function nameValues(field: string, value: unknown, max = 100): NameValue[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(field, 'must be a list of { name, value }');
  if (value.length > max) throw invalid(field, `must have at most ${max} entries`);
  return value.map((item, i) => {
    if (!item || typeof item !== 'object') throw invalid(`${field}[${i}]`, 'must be { name, value }');
    const o = item as Record<string, unknown>;
    const val = typeof o.value === 'number' || typeof o.value === 'boolean' ? String(o.value) : o.value;
    return { name: text(`${field}[${i}].name`, o.name, 128, { required: true }), value: text(`${field}[${i}].value`, val, 1024) };
  });
}

/** A URL-safe name (SAML application paths). */
export function slug(field: string, value: unknown): string {
  const v = text(field, value, 64, { required: true });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v)) throw invalid(field, 'may contain only letters, digits, ".", "_" and "-"');
  return v;
}

/** An IPv4/IPv6 address or CIDR block. Returns the canonical text. */
export function ipOrCidr(field: string, value: unknown): string {
  const v = text(field, value, 64, { required: true });
  const [addr, prefix, ...rest] = v.split('/');
  const family = isIP(addr ?? '');
  if (!family || rest.length > 0) throw invalid(field, 'must be an IP address or a CIDR block such as 10.0.0.0/24');
  if (prefix !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) throw invalid(field, `CIDR prefix must be from 0 to ${max}`);
  }
  // What the RADIUS client table cannot match must not be stored: an IPv4-mapped block
  // (RFC 4291 §2.5.5.2) needs a prefix of at least 96 to stay inside ::ffff:0:0/96.
  if (!parseBlock(v)) throw invalid(field, 'an IPv4-mapped IPv6 block needs a prefix from 96 to 128');
  return v;
}

export function httpUrl(field: string, value: unknown, { required = false } = {}): string {
  const v = text(field, value, 2048, { required });
  if (!v) return v;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw invalid(field, 'must be an absolute URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalid(field, 'must be an http:// or https:// URL');
  return v;
}
