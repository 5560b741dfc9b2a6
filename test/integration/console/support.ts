import assert from 'node:assert/strict';
import type { RunningAppliance } from '../../helpers/appliance.js';
import { TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD } from '../../helpers/appliance.js';
import { base32Decode, timeStep, totpAtStep } from '../../helpers/rfc6238.js';

export interface Page {
  status: number;
  url: string;
  location: string | null;
  text: string;
  headers: Headers;
}

/** The RFC 6238 code of a base32 key at a time (the independent implementation of the tests). */
export const totpCode = (secret: string, at = Date.now()) => totpAtStep(base32Decode(secret), timeStep(at / 1000));
/** The code of the next 30-second step (a fresh code when the current one was just used). */
export const nextTotpCode = (secret: string, at = Date.now()) => totpAtStep(base32Decode(secret), timeStep(at / 1000) + 1);

/** TOTP keys of the bootstrap admin per appliance (enrolled at its first sign-in), and the last step used per key. */
const adminKeys = new Map<string, string>();
const lastStep = new Map<string, number>();

/**
 * A code for the key that was not used yet: the current step, or the next one when the current one
 * was used; waits for the clock when both were (each code is accepted once, ±1 step).
 */
export async function freshTotpCode(secret: string, now: () => number = Date.now): Promise<string> {
  for (;;) {
    const current = timeStep(now() / 1000);
    const step = Math.max(current, (lastStep.get(secret) ?? -1) + 1);
    if (step <= current + 1) {
      lastStep.set(secret, step);
      return totpAtStep(base32Decode(secret), step);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * A browser-like client of the console without a browser: a cookie jar per path, redirects
 * followed by hand, and the CSRF token of the last page reused for the next form.
 */
export class ConsoleClient {
  private readonly cookies = new Map<string, { value: string; path: string }>();
  csrf = '';
  /** The admin's TOTP key, once enrolled through `signIn`. */
  totpSecret = '';

  /** `now`: the appliance's clock (a fake clock in some tests), for the TOTP codes. */
  constructor(readonly base: string, readonly now: () => number = Date.now) {}

  private cookieHeader(path: string): string {
    return [...this.cookies.entries()]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([k, c]) => `${k}=${c.value}`)
      .join('; ');
  }

  private keep(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^expires=Thu, 01 Jan 1970/i.test(a.trim())) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  async request(method: 'GET' | 'POST', path: string, form?: Record<string, string | string[]>, follow = true): Promise<Page> {
    let url = path;
    let body: string | undefined;
    if (form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
      if (!('_csrf' in form)) p.set('_csrf', this.csrf);
      body = p.toString();
    }
    for (let hops = 0; ; hops++) {
      const res = await fetch(this.base + url, {
        method,
        redirect: 'manual',
        headers: { cookie: this.cookieHeader(url.split('?')[0]!), ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(body !== undefined ? { body } : {}),
      });
      this.keep(res);
      const text = await res.text();
      const token = /name="_csrf" value="([^"]+)"/.exec(text);
      if (token) this.csrf = token[1]!;
      const location = res.headers.get('location');
      if (follow && location && res.status >= 300 && res.status < 400 && hops < 10) {
        url = location.replace(this.base, '');
        method = 'GET';
        body = undefined;
        continue;
      }
      return { status: res.status, url, location, text, headers: res.headers };
    }
  }

  get(path: string, follow = true) {
    return this.request('GET', path, undefined, follow);
  }

  post(path: string, form: Record<string, string | string[]> = {}, follow = true) {
    return this.request('POST', path, form, follow);
  }

  /**
   * Signs in as the bootstrap admin: email and password, then TOTP enrolment on the first sign-in
   * (the organisation requires admin MFA by default) or a TOTP code afterwards.
   */
  /** Records a key this admin enrolled in place of the old one (My Account), for later sign-ins. */
  replacedKey(secret: string, email = TEST_ADMIN_EMAIL): void {
    this.totpSecret = secret;
    adminKeys.set(`${this.base} ${email}`, secret);
  }

  async signIn(email = TEST_ADMIN_EMAIL, password = TEST_ADMIN_PASSWORD): Promise<Page> {
    await this.get('/admin/login');
    let page = await this.post('/admin/login', { email, password });
    if (page.url.startsWith('/admin/login/enroll')) {
      const secret = /data-secret="([A-Z2-7]+)"/.exec(page.text)?.[1];
      assert.ok(secret, 'the enrolment page shows the TOTP key');
      this.totpSecret = secret;
      adminKeys.set(`${this.base} ${email}`, secret);
      page = await this.post('/admin/login/enroll', { otp: await freshTotpCode(secret, this.now) });
    } else if (page.url.startsWith('/admin/login/totp')) {
      this.totpSecret ||= adminKeys.get(`${this.base} ${email}`) ?? '';
      assert.ok(this.totpSecret, 'the admin enrolled TOTP through this helper');
      page = await this.post('/admin/login/totp', { otp: await freshTotpCode(this.totpSecret, this.now) });
    }
    assert.equal(page.url, '/admin/', `signed in (at ${page.url}, status ${page.status})`);
    return page;
  }
}

/** A console client signed in to the appliance. */
export async function signedInConsole(gh: RunningAppliance): Promise<ConsoleClient> {
  const c = new ConsoleClient(gh.httpUrl);
  await c.signIn();
  return c;
}

/** Every `value` of the row checkboxes of a list page (the ids on the page). */
export const rowIds = (html: string) => [...html.matchAll(/name="ids" value="([0-9a-f]{24})"/g)].map((m) => m[1]!);
