import { invalid } from '../core/errors.js';

// Reading HTML form (and query) fields, the same way in the portal and the console.

/**
 * One string from a form or query; '' when absent. A value longer than `max` or a field sent more
 * than once is refused (400, naming the field) rather than read as empty: an empty value would be
 * saved over what was there.
 */
export function field(source: unknown, name: string, max = 4096): string {
  const v = source && typeof source === 'object' ? (source as Record<string, unknown>)[name] : undefined;
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw invalid(name, `the form field ${name} was sent more than once`);
  if (v.length > max) throw invalid(name, `the form field ${name} must be at most ${max} characters`);
  return v;
}

/** A form field that may repeat (checkboxes), as a list of strings. */
export function fieldList(source: unknown, name: string): string[] {
  const v = source && typeof source === 'object' ? (source as Record<string, unknown>)[name] : undefined;
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** A checkbox: present ("on" or a value, once or with a hidden default) means true. */
export const checked = (source: unknown, name: string) => fieldList(source, name).some((v) => v !== '');
