import DataLoader from 'dataloader';
import type { Page, Query, UserAttr } from '../../core/directory/filter.js';
import { commonName, couldBeStoredText } from '../../core/directory/names.js';
import type { AuthState, User, UserCredentials, UserUpdate } from '../../core/directory/types.js';
import { fold } from '../fold.js';
import type { UserForAuth, UserRepository } from '../../core/ports.js';
import { filterToSql, sortToSql, type ColumnMap } from '../filter-sql.js';
import { OldestFirst } from '../../util/oldest-first.js';
import { projection } from '../projection.js';
import { fromJson, inList, ms, toBool, toDate, toDateOrNull, toNum, toNumOrNull, toStr, type Param, type Row, type Sql, limitSql } from '../sql.js';

export const USER_COLUMNS: ColumnMap<UserAttr> = {
  id: { expr: 'u.id', kind: 'id' },
  username: { expr: 'u.username', kind: 'lower' },
  email: { expr: 'u.email', kind: 'lower' },
  firstname: { expr: 'u.firstname_lc', kind: 'lower', exact: 'u.firstname' },
  lastname: { expr: 'u.lastname_lc', kind: 'lower', exact: 'u.lastname' },
  displayname: { expr: 'u.displayname_lc', kind: 'lower', exact: 'u.displayname' },
  state: { expr: 'u.state', kind: 'upper' },
  unixUid: { expr: 'u.unix_uid', kind: 'int' },
  unixGuid: { expr: 'u.unix_guid', kind: 'int' },
  ldapBindingUser: { expr: 'u.ldap_binding_user', kind: 'bool' },
  hasPassword: { expr: '(u.password_hash IS NOT NULL)', kind: 'bool' },
  totpEnrolled: { expr: 'u.totp_enrolled', kind: 'bool' },
  enableUserPortalMultifactor: { expr: 'u.enable_user_portal_multifactor', kind: 'bool' },
  passwordExpiredFlag: { expr: 'u.password_expired', kind: 'bool' },
  passwordChangedAt: { expr: 'u.password_changed_at', kind: 'time' },
  jobTitle: { expr: 'u.job_title_lc', kind: 'lower', exact: 'u.job_title' },
  department: { expr: 'u.department_lc', kind: 'lower', exact: 'u.department' },
  company: { expr: 'u.company_lc', kind: 'lower', exact: 'u.company' },
  location: { expr: 'u.location_lc', kind: 'lower', exact: 'u.location' },
  employeeIdentifier: { expr: 'u.employee_identifier_lc', kind: 'lower', exact: 'u.employee_identifier' },
  description: { expr: 'u.description_lc', kind: 'lower', exact: 'u.description' },
  createdAt: { expr: 'u.created_at', kind: 'time' },
  updatedAt: { expr: 'u.updated_at', kind: 'time' },
  cn: { expr: 'u.cn_lc', kind: 'lower', exact: 'u.cn' },
  memberOf: {
    expr: 'u.id IN (SELECT user_id FROM user_group_members WHERE group_id = ?)',
    kind: 'sub',
    present: 'u.id IN (SELECT user_id FROM user_group_members)',
  },
  memberOfGroupBoundTo: {
    expr: `EXISTS (SELECT 1 FROM user_group_members gm CROSS JOIN associations ga
             WHERE gm.user_id = u.id AND ga.from_type = 'user_group' AND ga.from_id = gm.group_id AND ga.to_type = ?type AND ga.to_id = ?id)`,
    kind: 'sub',
  },
  memberOfName: {
    expr: 'u.id IN (SELECT m.user_id FROM user_group_members m JOIN user_groups g ON g.id = m.group_id WHERE g.name_lc = ?)',
    kind: 'sub',
    present: 'u.id IN (SELECT user_id FROM user_group_members)',
  },
  // Correlated EXISTS, not IN: checked per candidate row through the primary keys, so a search
  // selecting one user never materialises every user bound to the resource. CROSS JOIN fixes the
  // order for SQLite (the user's few memberships first, then each group's association by primary
  // key); left to itself it may walk every group association per user.
  boundTo: {
    expr: `(EXISTS (SELECT 1 FROM associations ba WHERE ba.from_type = 'user' AND ba.from_id = u.id AND ba.to_type = ?type AND ba.to_id = ?id)
      OR EXISTS (SELECT 1 FROM user_group_members bm CROSS JOIN associations ba
                 WHERE bm.user_id = u.id AND ba.from_type = 'user_group' AND ba.from_id = bm.group_id
                   AND ba.to_type = ?type AND ba.to_id = ?id))`,
    kind: 'sub',
  },
  lockedAt: { expr: 'a.locked_at', kind: 'time' },
};

const PROFILE = [
  'u.id', 'u.username', 'u.email', 'u.firstname', 'u.lastname', 'u.displayname', 'u.state',
  '(u.password_hash IS NOT NULL) AS has_password', 'u.password_changed_at', 'u.password_expired', 'u.totp_enrolled',
  'u.enable_user_portal_multifactor', 'u.mfa_exclusion', 'u.mfa_exclusion_until', 'u.ldap_binding_user', 'u.unix_uid',
  'u.unix_guid', 'u.job_title', 'u.department', 'u.company', 'u.location', 'u.employee_identifier', 'u.description',
  'u.attributes', 'u.created_at', 'u.updated_at', 'a.locked_at',
];
/** What an authentication reads besides the profile. */
const AUTH_COLUMNS = [
  ...PROFILE,
  'u.password_hash', 'u.password_history', 'u.totp_secret', 'u.totp_pending_secret', 'a.failed_count', 'a.last_failed_at', 'a.last_totp_step',
];
/** Whether the user may use a resource ($1 type, $2 id): directly or through one of its groups. */
const HAS_ACCESS = `(EXISTS (SELECT 1 FROM associations ba WHERE ba.from_type = 'user' AND ba.from_id = u.id AND ba.to_type = $1 AND ba.to_id = $2)
  OR EXISTS (SELECT 1 FROM user_group_members bm CROSS JOIN associations ba
             WHERE bm.user_id = u.id AND ba.from_type = 'user_group' AND ba.from_id = bm.group_id
               AND ba.to_type = $1 AND ba.to_id = $2)) AS has_access`;
/** The rows USER_COLUMNS are written for: a user (`u`) and its authentication state (`a`). */
export const USER_FROM = 'users u LEFT JOIN auth_state a ON a.subject_id = u.id';
const FROM = USER_FROM;

export function toUser(r: Row): User {
  return {
    id: toStr(r.id),
    username: toStr(r.username),
    email: toStr(r.email),
    firstname: toStr(r.firstname),
    lastname: toStr(r.lastname),
    displayname: toStr(r.displayname),
    state: toStr(r.state) as User['state'],
    hasPassword: toBool(r.has_password),
    passwordChangedAt: toDateOrNull(r.password_changed_at),
    passwordExpiredFlag: toBool(r.password_expired),
    totpEnrolled: toBool(r.totp_enrolled),
    enableUserPortalMultifactor: toBool(r.enable_user_portal_multifactor),
    mfaExclusion: toBool(r.mfa_exclusion),
    mfaExclusionUntil: toDateOrNull(r.mfa_exclusion_until),
    ldapBindingUser: toBool(r.ldap_binding_user),
    unixUid: toNum(r.unix_uid),
    unixGuid: toNum(r.unix_guid),
    jobTitle: toStr(r.job_title),
    department: toStr(r.department),
    company: toStr(r.company),
    location: toStr(r.location),
    employeeIdentifier: toStr(r.employee_identifier),
    description: toStr(r.description),
    attributes: fromJson(r.attributes, []),
    lockedAt: toDateOrNull(r.locked_at),
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

function toCredentials(r: Row): UserCredentials {
  return {
    passwordHash: (r.password_hash as string | null) ?? null,
    passwordHistory: fromJson(r.password_history, []),
    totpSecret: (r.totp_secret as string | null) ?? null,
    totpPendingSecret: (r.totp_pending_secret as string | null) ?? null,
  };
}

export function toAuthState(r: Row): AuthState {
  return {
    failedCount: toNum(r.failed_count ?? 0),
    lastFailedAt: toDateOrNull(r.last_failed_at),
    lockedAt: toDateOrNull(r.locked_at),
    lastTotpStep: toNumOrNull(r.last_totp_step),
  };
}

/** Domain field → column, for updates. */
const UPDATE_COLUMNS: Record<keyof UserUpdate, string> = {
  username: 'username',
  email: 'email',
  firstname: 'firstname',
  lastname: 'lastname',
  displayname: 'displayname',
  state: 'state',
  passwordChangedAt: 'password_changed_at',
  passwordExpiredFlag: 'password_expired',
  totpEnrolled: 'totp_enrolled',
  enableUserPortalMultifactor: 'enable_user_portal_multifactor',
  mfaExclusion: 'mfa_exclusion',
  mfaExclusionUntil: 'mfa_exclusion_until',
  ldapBindingUser: 'ldap_binding_user',
  unixUid: 'unix_uid',
  unixGuid: 'unix_guid',
  jobTitle: 'job_title',
  department: 'department',
  company: 'company',
  location: 'location',
  employeeIdentifier: 'employee_identifier',
  description: 'description',
  attributes: 'attributes',
};

function toParam(v: unknown): Param {
  if (v instanceof Date) return v.getTime();
  if (Array.isArray(v)) return JSON.stringify(v);
  if (v === undefined) return null;
  return v as Param;
}

const AUTH_BATCH_SIZES = [1, 4, 16, 64];
const MAX_AUTH_LOADERS = 1_000;
const AUTH_BATCHING: DataLoader.Options<string, UserForAuth | null> = {
  // Reads are not kept: the pipeline's own cache decides how long an account read may serve.
  cache: false,
  maxBatchSize: AUTH_BATCH_SIZES[AUTH_BATCH_SIZES.length - 1]!,
  // After the I/O callbacks of this loop turn (one per datagram or TCP read), not after the current
  // microtasks: a batch then holds the logins of every request that arrived together.
  batchScheduleFn: (dispatch) => setImmediate(dispatch),
};

export function createUserRepository(sql: Sql): UserRepository {
  const profile = projection(sql.dialect, PROFILE);
  const forAuth = projection(sql.dialect, AUTH_COLUMNS);
  const forAuthWithAccess = projection(sql.dialect, [...AUTH_COLUMNS, HAS_ACCESS]);
  const members = projection(sql.dialect, ['m.group_id', 'u.id', 'u.username']);
  const byWhere = async (where: string, params: Param[]) => {
    const [r] = profile.rows(await sql.rows(`SELECT ${profile.list} FROM ${FROM} WHERE ${where}`, params));
    return r ? toUser(r) : null;
  };
  /**
   * The account reads of authentications, batched: the logins asked for while the event loop
   * handles one round of I/O are read by one statement (`IN`, up to 64), instead of one statement
   * each. node-sqlite3 starts the next execution of a statement only from the event loop, so under
   * load one read per statement per turn was the store's ceiling: after a pause, when every
   * RADIUS user's account had to be read again at once, requests waited up to 300 ms for it.
   */
  const findManyForAuth = async (
    column: 'email' | 'username',
    logins: readonly string[],
    accessTo: { type: string; id: string } | undefined,
  ): Promise<(UserForAuth | null)[]> => {
    // The access check rides along as a correlated sub-select ($1, $2): one round trip per batch.
    const params: Param[] = accessTo ? [accessTo.type, accessTo.id] : [];
    const columns = accessTo ? forAuthWithAccess : forAuth;
    // Padded to a few list lengths (repeating a login matches nothing more), so that the driver's
    // prepared statements are reused rather than one compiled per batch size.
    const size = AUTH_BATCH_SIZES.find((n) => n >= logins.length) ?? logins.length;
    const padded = [...logins, ...Array<string>(size - logins.length).fill(logins[logins.length - 1]!)];
    const rows = columns.rows(await sql.rows(`SELECT ${columns.list} FROM ${FROM} WHERE u.${column} IN (${inList(params, padded)})`, params));
    const byLogin = new Map<string, Row>();
    for (const r of rows) byLogin.set(toStr(r[column]), r);
    // One object per caller, as with one read each: the pipeline keeps what it read as its snapshot.
    return logins.map((login) => {
      const r = byLogin.get(login);
      if (!r) return null;
      const found: UserForAuth = { user: toUser(r), credentials: toCredentials(r), authState: toAuthState(r) };
      if (accessTo) found.hasAccess = toBool(r.has_access);
      return found;
    });
  };
  const authLoaders = new Map<string, DataLoader<string, UserForAuth | null>>();
  const authLoadersByAge = new OldestFirst(authLoaders);

  return {
    async create(u, c) {
      await sql.insert('users', {
        id: u.id,
        username: u.username,
        email: u.email,
        firstname: u.firstname,
        lastname: u.lastname,
        displayname: u.displayname,
        state: u.state,
        password_hash: c.passwordHash,
        password_changed_at: ms(u.passwordChangedAt),
        password_expired: u.passwordExpiredFlag,
        password_history: JSON.stringify(c.passwordHistory),
        totp_secret: c.totpSecret,
        totp_pending_secret: c.totpPendingSecret,
        totp_enrolled: u.totpEnrolled,
        enable_user_portal_multifactor: u.enableUserPortalMultifactor,
        mfa_exclusion: u.mfaExclusion,
        mfa_exclusion_until: ms(u.mfaExclusionUntil),
        ldap_binding_user: u.ldapBindingUser,
        unix_uid: u.unixUid,
        unix_guid: u.unixGuid,
        job_title: u.jobTitle,
        department: u.department,
        company: u.company,
        location: u.location,
        employee_identifier: u.employeeIdentifier,
        description: u.description,
        attributes: JSON.stringify(u.attributes),
        cn: commonName(u),
        cn_lc: fold(commonName(u)),
        created_at: u.createdAt.getTime(),
        updated_at: u.updatedAt.getTime(),
      });
    },
    async touch(id) {
      await sql.exec('UPDATE users SET updated_at = $1 WHERE id = $2', [Date.now(), id]);
    },
    async touchMembersOf(groupId) {
      await sql.exec('UPDATE users SET updated_at = $1 WHERE id IN (SELECT user_id FROM user_group_members WHERE group_id = $2)', [Date.now(), groupId]);
    },
    async update(id, patch) {
      const row: Record<string, Param> = {};
      for (const [k, v] of Object.entries(patch)) {
        const col = UPDATE_COLUMNS[k as keyof UserUpdate];
        if (col && v !== undefined) row[col] = toParam(v);
      }
      if (Object.keys(row).length === 0) return;
      row.updated_at = Date.now();
      await sql.update('users', id, row);
      if (['username', 'firstname', 'lastname', 'displayname'].some((k) => k in row)) {
        // cn depends on several columns: recompute it from the row as now stored.
        const r = await sql.one('SELECT username, firstname, lastname, displayname FROM users WHERE id = $1', [id]);
        if (r) {
          const cn = commonName({ username: toStr(r.username), firstname: toStr(r.firstname), lastname: toStr(r.lastname), displayname: toStr(r.displayname) });
          await sql.exec('UPDATE users SET cn = $1, cn_lc = $2 WHERE id = $3', [cn, fold(cn), id]);
        }
      }
    },
    async updateCredentials(id, c) {
      const row: Record<string, Param> = {};
      if (c.passwordHash !== undefined) row.password_hash = c.passwordHash;
      if (c.passwordHistory !== undefined) row.password_history = JSON.stringify(c.passwordHistory);
      if (c.totpSecret !== undefined) row.totp_secret = c.totpSecret;
      if (c.totpPendingSecret !== undefined) row.totp_pending_secret = c.totpPendingSecret;
      if (Object.keys(row).length === 0) return;
      row.updated_at = Date.now();
      await sql.update('users', id, row);
    },
    async delete(id) {
      await sql.exec('DELETE FROM users WHERE id = $1', [id]);
    },
    get: (id) => byWhere('u.id = $1', [id]),
    getByUsername: (username) => byWhere('u.username = $1', [username.toLowerCase()]),
    getByEmail: (email) => byWhere('u.email = $1', [email.toLowerCase()]),
    async getMany(ids) {
      if (ids.length === 0) return [];
      const params: Param[] = [];
      const rows = await sql.rows(`SELECT ${profile.list} FROM ${FROM} WHERE u.id IN (${inList(params, ids)}) ORDER BY u.username`, params);
      return profile.rows(rows).map(toUser);
    },
    async getCredentials(id) {
      const r = await sql.one('SELECT password_hash, password_history, totp_secret, totp_pending_secret FROM users WHERE id = $1', [id]);
      return r ? toCredentials(r) : null;
    },
    findForAuth(login, accessTo): Promise<UserForAuth | null> {
      // No stored name or email holds a control character or a lone surrogate (validate.ts), and
      // PostgreSQL refuses NUL in a parameter: such a login would fail the whole batch it joined.
      if (!couldBeStoredText(login)) return Promise.resolve(null);
      // Usernames cannot contain "@", so a login with one is an email; each branch uses its unique index.
      const column = login.includes('@') ? 'email' : 'username';
      const key = `${column}|${accessTo ? `${accessTo.type}|${accessTo.id}` : ''}`;
      let loader = authLoaders.get(key);
      if (!loader) {
        loader = new DataLoader((logins) => findManyForAuth(column, logins, accessTo), AUTH_BATCHING);
        authLoaders.set(key, loader);
        authLoadersByAge.trim(MAX_AUTH_LOADERS);
      }
      return loader.load(login);
    },
    async unixIdInUse(n) {
      const r = await sql.one(
        `SELECT 1 AS x FROM users WHERE unix_uid = $1 OR unix_guid = $1
         UNION ALL SELECT 1 AS x FROM user_groups WHERE posix_gid = $1`,
        [n],
      );
      return r !== null;
    },
    async groupsWithMembers(filter, groupsBoundTo) {
      const params: Param[] = [];
      const where = filterToSql(filter, USER_COLUMNS, params, sql.dialect);
      const at = groupsBoundTo.indexOf(':');
      const boundType = `$${params.push(groupsBoundTo.slice(0, at))}`;
      const boundId = `$${params.push(groupsBoundTo.slice(at + 1))}`;
      const rows = await sql.rows(
        `SELECT DISTINCT m.group_id FROM user_group_members m CROSS JOIN associations ga CROSS JOIN users u LEFT JOIN auth_state a ON a.subject_id = u.id
         WHERE ga.from_type = 'user_group' AND ga.from_id = m.group_id AND ga.to_type = ${boundType} AND ga.to_id = ${boundId}
           AND u.id = m.user_id AND ${where}`,
        params,
      );
      return rows.map((r) => toStr(r.group_id));
    },
    async membersOf(groupIds, filter) {
      if (groupIds.length === 0) return [];
      const params: Param[] = [];
      const inGroups = inList(params, groupIds);
      const where = filter ? filterToSql(filter, USER_COLUMNS, params, sql.dialect) : '1 = 1';
      const rows = await sql.rows(
        `SELECT ${members.list} FROM user_group_members m CROSS JOIN users u LEFT JOIN auth_state a ON a.subject_id = u.id
         WHERE m.group_id IN (${inGroups}) AND u.id = m.user_id AND ${where} ORDER BY u.username`,
        params,
      );
      return members.rows(rows).map((r) => ({ groupId: toStr(r.group_id), id: toStr(r.id), username: toStr(r.username) }));
    },
    async queryWithGroupNames(q, groupsBoundTo) {
      const params: Param[] = [];
      const where = q.filter ? filterToSql(q.filter, USER_COLUMNS, params, sql.dialect) : '1 = 1';
      const countRow = q.withTotal === false ? null : await sql.one(`SELECT COUNT(*) AS n FROM ${FROM} WHERE ${where}`, params);
      const pp = [...params];
      const at = groupsBoundTo.indexOf(':');
      const boundType = `$${pp.push(groupsBoundTo.slice(0, at))}`;
      const boundId = `$${pp.push(groupsBoundTo.slice(at + 1))}`;
      // One row per user with its bound groups' names joined by a control character that names cannot contain.
      const concat = sql.dialect === 'postgres' ? `string_agg(g.name, chr(30) ORDER BY g.name)` : `group_concat(g.name, char(30))`;
      const groups = `(SELECT ${concat} FROM user_group_members m JOIN user_groups g ON g.id = m.group_id
          WHERE m.user_id = u.id AND EXISTS (SELECT 1 FROM associations ba WHERE ba.from_type = 'user_group' AND ba.from_id = g.id
            AND ba.to_type = ${boundType} AND ba.to_id = ${boundId})) AS group_names`;
      const order = sortToSql(q.sort, USER_COLUMNS, 'u.id', sql.dialect);
      const withGroupNames = profile.and(groups);
      const rows = await sql.rows(
        `SELECT ${withGroupNames.list} FROM ${FROM} WHERE ${where} ORDER BY ${order} ${limitSql(q.limit)} OFFSET $${pp.push(q.offset)}`,
        pp,
      );
      return {
        total: countRow ? toNum(countRow.n) : -1,
        items: withGroupNames.rows(rows).map((r) => ({ user: toUser(r), groupNames: r.group_names ? String(r.group_names).split('\u001e').sort() : [] })),
      };
    },
    async query(q: Query<UserAttr>): Promise<Page<User>> {
      const params: Param[] = [];
      const where = q.filter ? filterToSql(q.filter, USER_COLUMNS, params, sql.dialect) : '1 = 1';
      const countRow = q.withTotal === false ? null : await sql.one(`SELECT COUNT(*) AS n FROM ${FROM} WHERE ${where}`, params);
      const order = sortToSql(q.sort, USER_COLUMNS, 'u.id', sql.dialect);
      const pageParams = [...params];
      const rows = await sql.rows(
        `SELECT ${profile.list} FROM ${FROM} WHERE ${where} ORDER BY ${order} ${limitSql(q.limit)} OFFSET $${pageParams.push(q.offset)}`,
        pageParams,
      );
      return { total: countRow ? toNum(countRow.n) : -1, items: profile.rows(rows).map(toUser) };
    },
  };
}
