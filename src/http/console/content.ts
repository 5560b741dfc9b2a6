import type { Badge } from './nav.js';

/** What's New entries: the newest first. Badges are data; the renderer draws them. */
export const WHATS_NEW: { date: string; title: string; text: string; href: string; badge?: Badge }[] = [
  {
    date: '2026-11',
    title: 'Admin Console',
    text: 'Manage users, groups, LDAP, RADIUS, SSO apps and devices from one console, with bulk actions, alerts and an implementation checklist.',
    href: '/admin/',
    badge: 'NEW',
  },
  {
    date: '2026-11',
    title: 'Activation and reset emails',
    text: 'Resend Email sends an activation link to password-pending users and a reset link to active users. Configure your SMTP relay in Settings.',
    href: '/admin/settings#smtp',
    badge: 'NEW',
  },
  {
    date: '2026-11',
    title: 'SAML single sign-on and the User Portal',
    text: 'SAML 2.0 IdP per application with its own signing key, SP metadata import, and a portal where users launch their apps and enrol TOTP.',
    href: '/admin/apps',
  },
  {
    date: '2026-10',
    title: 'BlastRADIUS protection',
    text: 'Message-Authenticator is required on Access-Requests by default; short shared secrets raise an alert.',
    href: '/admin/radius',
  },
  {
    date: '2026-10',
    title: 'TOTP on LDAP bind',
    text: 'Users with TOTP can append their code to the password when binding (password;123456).',
    href: '/admin/ldap',
  },
  {
    date: '2026-09',
    title: 'Directory integrations',
    text: 'Sync with HR systems and cloud directories.',
    href: '/admin/integrations',
    badge: 'PREMIUM',
  },
];

/** Support links: local documentation only (the appliance may run without Internet access). */
export const SUPPORT_LINKS: { label: string; href: string; text: string }[] = [
  { label: 'REST API reference (OpenAPI)', href: '/openapi.json', text: 'The JumpCloud-compatible API, as an OpenAPI 3 document.' },
  { label: 'Health check', href: '/health', text: 'Readiness of every listener and of the store.' },
  { label: 'User Portal', href: '/', text: 'What your users see: their apps, password and TOTP.' },
];

/** Directory integrations offered by JumpCloud; not part of this appliance (shown with their badge). */
export const INTEGRATIONS: { name: string; text: string; badge: Badge }[] = [
  { name: 'Google Workspace', text: 'Provision users into Google Workspace and sync passwords.', badge: 'PREMIUM' },
  { name: 'Microsoft 365 / Entra ID', text: 'Sync users and groups with Microsoft 365.', badge: 'PREMIUM' },
  { name: 'HR systems (BambooHR, Workday)', text: 'Create and deactivate users from your HR system.', badge: 'PREMIUM' },
  { name: 'Active Directory', text: 'Two-way sync with an existing Active Directory domain.', badge: 'PREMIUM' },
];

/** The product tour: each step points at an element marked `data-tour="<id>"` in the page shell. */
export const TOUR_STEPS: { target: string; title: string; text: string }[] = [
  { target: 'nav', title: 'Navigation', text: 'Every area of the console: users and groups, LDAP, RADIUS and SSO apps, devices, security settings and Directory Insights.' },
  { target: 'collapse', title: 'Collapse Menu', text: 'Shrink the menu to icons for more room. The console remembers your choice.' },
  { target: 'alerts', title: 'Alerts', text: 'Configuration problems that need attention, such as weak RADIUS secrets or locked-out users.' },
  { target: 'checklist', title: 'Checklist', text: 'The steps to set up your organisation. Each ticks itself when it is done.' },
  { target: 'account', title: 'Your account', text: 'Change your password, manage your TOTP, create API keys and open the User Portal.' },
  { target: 'main', title: 'Home', text: 'Counts that need action link straight to the filtered lists. Select users there and use More actions.' },
];
