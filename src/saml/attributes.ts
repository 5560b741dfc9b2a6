import type { Application, User } from '../core/directory/types.js';

/** One SAML Attribute (SAML core §2.7.3.1) with its values, before escaping. */
export interface SamlAttribute {
  name: string;
  values: string[];
}

/** The value of a user field an app maps (`SAML_USER_ATTRIBUTES` in core), as text. */
export function userFieldValue(user: User, field: string): string {
  switch (field) {
    case 'id':
      return user.id;
    case 'username':
      return user.username;
    case 'email':
      return user.email;
    case 'firstname':
      return user.firstname;
    case 'lastname':
      return user.lastname;
    case 'displayname':
      return user.displayname || [user.firstname, user.lastname].filter(Boolean).join(' ');
    case 'jobTitle':
      return user.jobTitle;
    case 'department':
      return user.department;
    case 'company':
      return user.company;
    case 'location':
      return user.location;
    case 'employeeIdentifier':
      return user.employeeIdentifier;
    case 'unixUid':
      return String(user.unixUid);
    case 'unixGuid':
      return String(user.unixGuid);
    default:
      return '';
  }
}

/** The NameID an app's assertions give `user` (its configured field, the username when empty). */
export function nameIdOf(app: Application, user: User): string {
  return userFieldValue(user, app.config.nameIdAttribute) || user.username;
}

/**
 * Whether a NameID an SP sends (a requested Subject, a LogoutRequest's principal) is the one the
 * app gives `user`. Usernames and emails are matched without case, as logins are everywhere else.
 */
export function namesUser(app: Application, nameId: string, user: User): boolean {
  const expected = nameIdOf(app, user);
  const folded = app.config.nameIdAttribute === 'email' || app.config.nameIdAttribute === 'username';
  return folded ? nameId.toLowerCase() === expected.toLowerCase() : nameId === expected;
}

/**
 * The attribute statement of an app's assertion: its mappings (attribute name ← user field), its
 * constants, and the group attribute (names of the user's groups bound to the app, one value each).
 * A name given twice keeps its first definition, so a constant cannot shadow a mapping. Empty
 * mapped values are left out. Values are plain strings here: escaping happens when the XML is built.
 */
export function toSamlAttributes(user: User, app: Application, groupNames: string[]): SamlAttribute[] {
  const out: SamlAttribute[] = [];
  const seen = new Set<string>();
  const add = (name: string, values: string[]) => {
    if (!name || seen.has(name) || values.length === 0) return;
    seen.add(name);
    out.push({ name, values });
  };
  for (const a of app.config.attributes ?? []) {
    const value = userFieldValue(user, a.value);
    if (value !== '') add(a.name, [value]);
  }
  for (const c of app.config.constantAttributes ?? []) add(c.name, [String(c.value)]);
  if (app.config.groupAttribute) add(app.config.groupAttribute, groupNames);
  return out;
}
