import type { IconName } from './icons.js';

/** Labels a nav item or feature may carry; rendered from data, never written into markup by hand. */
export type Badge = 'NEW' | 'PREMIUM';

export interface NavItem {
  label: string;
  href: string;
  /** Pages under this path mark the item current. */
  match: string;
  badge?: Badge;
}

export interface NavSection {
  id: string;
  label: string;
  icon: IconName;
  items: NavItem[];
  badge?: Badge;
}

/** The left navigation, in the Admin Portal's sections and order. */
export const NAV: NavSection[] = [
  {
    id: 'user-management',
    label: 'User Management',
    icon: 'users',
    items: [
      { label: 'Users', href: '/admin/users', match: '/admin/users' },
      { label: 'User Groups', href: '/admin/groups', match: '/admin/groups' },
    ],
  },
  {
    id: 'user-authentication',
    label: 'User Authentication',
    icon: 'key',
    items: [
      { label: 'LDAP', href: '/admin/ldap', match: '/admin/ldap' },
      { label: 'RADIUS', href: '/admin/radius', match: '/admin/radius' },
      { label: 'SSO Applications', href: '/admin/apps', match: '/admin/apps' },
    ],
  },
  {
    id: 'device-management',
    label: 'Device Management',
    icon: 'laptop',
    items: [
      { label: 'Devices', href: '/admin/devices', match: '/admin/devices' },
      { label: 'Device Groups', href: '/admin/device-groups', match: '/admin/device-groups', badge: 'NEW' },
    ],
  },
  {
    id: 'directory-integrations',
    label: 'Directory Integrations',
    icon: 'plug',
    items: [{ label: 'Integrations', href: '/admin/integrations', match: '/admin/integrations', badge: 'PREMIUM' }],
  },
  {
    id: 'security-management',
    label: 'Security Management',
    icon: 'shield',
    items: [
      { label: 'MFA', href: '/admin/security#mfa', match: '/admin/security#mfa' },
      { label: 'Password & Lockout', href: '/admin/security', match: '/admin/security' },
    ],
  },
  {
    id: 'insights',
    label: 'Insights',
    icon: 'chart',
    items: [{ label: 'Directory Insights', href: '/admin/insights', match: '/admin/insights' }],
  },
  {
    id: 'account',
    label: 'Account',
    icon: 'user',
    items: [
      { label: 'My Account', href: '/admin/account', match: '/admin/account' },
      { label: 'Administrators', href: '/admin/admins', match: '/admin/admins' },
    ],
  },
  {
    id: 'support',
    label: 'Support',
    icon: 'help',
    items: [
      { label: 'Help & Docs', href: '/admin/support', match: '/admin/support' },
      { label: "What's New", href: '/admin/whats-new', match: '/admin/whats-new' },
    ],
  },
  {
    id: 'settings',
    label: 'Settings',
    icon: 'gear',
    items: [{ label: 'Organization', href: '/admin/settings', match: '/admin/settings' }],
  },
];

/** The nav state the browser remembers (cookie `gh_admin_nav`, set by console.js, read here so the first paint is right). */
export interface NavState {
  collapsed: boolean;
  closedSections: string[];
}

export const NAV_COOKIE = 'gh_admin_nav';

export function parseNavState(cookie: string | undefined): NavState {
  const state: NavState = { collapsed: false, closedSections: [] };
  if (!cookie || cookie.length > 512) return state;
  for (const part of cookie.split('|')) {
    const [k, v = ''] = part.split(':');
    if (k === 'menu') state.collapsed = v === 'collapsed';
    if (k === 'closed') state.closedSections = v.split(',').filter((s) => NAV.some((n) => n.id === s));
  }
  return state;
}
