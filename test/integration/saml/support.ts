import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { Constants, IdentityProvider, ServiceProvider } from 'samlify';
import type { RunningAppliance } from '../../helpers/appliance.js';
import { base32Decode, timeStep, totpAtStep } from '../../helpers/rfc6238.js';
import { createSelfSignedCertificate } from '../../../src/util/certificates.js';

/**
 * A minimal browser for the portal and SAML pages: a cookie jar, manual redirects, and the forms
 * of a page read back into fields (hidden inputs included), so that tests drive the HTML the way a
 * browser would, CSRF tokens and all.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  private absorb(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  /** One request, no redirect following. */
  async request(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    const url = path.startsWith('http') ? path : this.base + path;
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { ...this.cookieHeader(), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...headers },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    this.absorb(res);
    return new Page(res.status, res.headers, await res.text(), url);
  }

  /** GET, following redirects on this host. */
  async get(path: string): Promise<Page> {
    let page = await this.request('GET', path);
    for (let i = 0; i < 5 && page.status >= 300 && page.status < 400; i++) page = await this.request('GET', page.location!);
    return page;
  }

  /** Submits the form of `page` (the first, or the one whose action matches), with `values` filled in; follows redirects. */
  async submit(page: Page, values: Record<string, string>, action?: string | RegExp): Promise<Page> {
    const form = page.form(action);
    let res = await this.request('POST', new URL(form.action, page.url).toString(), { ...form.fields, ...values });
    for (let i = 0; i < 5 && res.status >= 300 && res.status < 400; i++) res = await this.request('GET', new URL(res.location!, page.url).toString());
    return res;
  }
}

const unescapeHtml = (s: string) =>
  s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#96;/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export class Page {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    readonly body: string,
    readonly url: string,
  ) {}
  get location(): string | null {
    const l = this.headers.get('location');
    return l ? new URL(l, this.url).toString() : null;
  }
  forms(): { action: string; fields: Record<string, string> }[] {
    return [...this.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => {
      const action = unescapeHtml(/action="([^"]*)"/.exec(m[1]!)?.[1] ?? '');
      const fields: Record<string, string> = {};
      for (const i of m[2]!.matchAll(/<input\b([^>]*)>/g)) {
        const name = /name="([^"]*)"/.exec(i[1]!)?.[1];
        const value = /value="([^"]*)"/.exec(i[1]!)?.[1];
        if (name && /type="hidden"/.test(i[1]!)) fields[unescapeHtml(name)] = unescapeHtml(value ?? '');
      }
      return { action, fields };
    });
  }
  form(action?: string | RegExp) {
    const all = this.forms();
    const f = action === undefined ? all.find((x) => x.action !== '/logout') : all.find((x) => (typeof action === 'string' ? x.action === action : action.test(x.action)));
    assert.ok(f, `no form${action ? ` ${action}` : ''} on the page (status ${this.status}): ${this.body.slice(0, 600)}`);
    return f;
  }
  /** The text of the page without tags. */
  get text(): string {
    return unescapeHtml(this.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' '));
  }
}

export const SP_ENTITY = 'https://sp.example.test/metadata';
export const SP_ACS = 'https://sp.example.test/saml/acs';

export interface TestSp {
  sp: ReturnType<typeof ServiceProvider>;
  idp: ReturnType<typeof IdentityProvider>;
  /** The SP's signing certificate (PEM), for registering with the app. */
  certPem: string;
  /** Its private key (PEM), for signing requests by hand. */
  keyPem: string;
}

/** samlify as the SP client, with its own key; the IdP from Gatehouse's metadata of `app`. */
export async function testSp(gh: RunningAppliance, appName: string, opts: { signRequests?: boolean; acs?: string[]; entityId?: string } = {}): Promise<TestSp> {
  const pair = await createSelfSignedCertificate({ commonName: 'sp.example.test', days: 30 });
  const metadata = await (await fetch(`${gh.httpUrl}/saml2/${appName}/metadata`)).text();
  const idp = IdentityProvider({ metadata });
  const sp = ServiceProvider({
    entityID: opts.entityId ?? SP_ENTITY,
    privateKey: pair.keyPem,
    signingCert: pair.certPem,
    authnRequestsSigned: opts.signRequests ?? false,
    wantAssertionsSigned: true,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    assertionConsumerService: (opts.acs ?? [SP_ACS]).map((Location) => ({ Binding: Constants.namespace.binding.post, Location })),
  });
  return { sp, idp, certPem: pair.certPem, keyPem: pair.keyPem };
}

/** The path and query of an SP-initiated HTTP-Redirect request made by samlify. */
export function redirectRequest(t: TestSp, relayState?: string): { path: string; id: string } {
  const r = t.sp.createLoginRequest(t.idp, 'redirect', relayState ? { relayState } : undefined) as { id: string; context: string };
  const u = new URL(r.context);
  return { path: u.pathname + u.search, id: r.id };
}

/** An SP-initiated HTTP-POST request made by samlify: the fields its auto-post form would send. */
export function postRequest(t: TestSp, relayState?: string): { action: string; fields: Record<string, string>; id: string } {
  const r = t.sp.createLoginRequest(t.idp, 'post', relayState ? { relayState } : undefined) as { id: string; context: string; entityEndpoint: string; relayState?: string };
  return { action: new URL(r.entityEndpoint).pathname, fields: { SAMLRequest: r.context, ...(relayState ? { RelayState: relayState } : {}) }, id: r.id };
}

/** A hand-made AuthnRequest XML (for hostile variants), base64 for POST or deflated for Redirect. */
export function authnRequestXml(o: { issuer?: string; acs?: string; id?: string; destination?: string; extra?: string; prolog?: string }): string {
  const id = o.id ?? `_${randomBytes(8).toString('hex')}`;
  return (
    (o.prolog ?? '') +
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}"` +
    (o.destination ? ` Destination="${o.destination}"` : '') +
    (o.acs ? ` AssertionConsumerServiceURL="${o.acs}"` : '') +
    `><saml:Issuer>${o.issuer ?? SP_ENTITY}</saml:Issuer>${o.extra ?? ''}</samlp:AuthnRequest>`
  );
}

export const forRedirect = (xml: string) => encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'));
export const forPost = (xml: string) => Buffer.from(xml).toString('base64');

/** Decodes the SAMLResponse of an auto-post page. */
export function responseXml(page: Page): string {
  const f = page.form(/./);
  assert.ok(f.fields.SAMLResponse, `no SAMLResponse in the page: ${page.body.slice(0, 400)}`);
  return Buffer.from(f.fields.SAMLResponse, 'base64').toString('utf8');
}


/**
 * TOTP codes for a seed, for successive sign-ins: the verifier accepts ±1 step and refuses a step at
 * or below the last one used, so each call gives the current step, or the one after the last code
 * given if that is later. The step is read when the code is asked for: a code of the step before,
 * computed ahead, went stale when a step boundary passed before it was typed.
 */
export function totpCodes(secret: string): () => string {
  const key = base32Decode(secret);
  let last = -Infinity;
  return () => {
    last = Math.max(timeStep(Date.now() / 1000), last + 1);
    return totpAtStep(key, last);
  };
}

/** Directory Insights events of one type, newest first. */
// `any`: events are asserted field by field against JumpCloud's shapes.
export async function events(gh: RunningAppliance, type: string, search?: string): Promise<any[]> {
  await gh.appliance.core.audit.flush();
  const r = await gh.api('POST', '/insights/directory/v1/events', {
    service: ['all'],
    start_time: new Date(Date.now() - 3600_000).toISOString(),
    limit: 1000,
    ...(search ? { search_term: search } : {}),
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { event_type: string }[]).filter((e) => e.event_type === type);
}
