import { fold } from '../util/fold.js';

export { fold };

/** Text columns matched case-insensitively, each with a `<column>_lc` shadow (migration 0002). */
export const FOLDED_COLUMNS: Record<string, readonly string[]> = {
  users: ['firstname', 'lastname', 'displayname', 'job_title', 'department', 'company', 'location', 'employee_identifier', 'description'],
  user_groups: ['name', 'description', 'email', 'posix_name'],
  systems: ['display_name', 'hostname', 'os', 'version', 'arch'],
  system_groups: ['name'],
};

/** Adds the folded shadow of every folded column present in a row about to be written. */
export function withFolded<T extends Record<string, unknown>>(table: string, row: T): T {
  const out: Record<string, unknown> = { ...row };
  for (const c of FOLDED_COLUMNS[table] ?? []) {
    if (c in row) out[`${c}_lc`] = fold(typeof row[c] === 'string' ? (row[c] as string) : '');
  }
  return out as T;
}
