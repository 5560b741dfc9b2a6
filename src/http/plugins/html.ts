/**
 * Server-rendered HTML with escaping by default: every `${value}` in an `html` template is
 * HTML-escaped unless it is itself the result of `html` (or `trustedHtml`). A value from the
 * directory, a request or a protocol (a RADIUS User-Name, a SAML RelayState) can therefore never
 * become markup or script (security.md item 9). Used by the portal and meant for the console.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(p: Part): string {
  if (p === null || p === undefined || p === false) return '';
  if (p instanceof SafeHtml) return p.value;
  if (Array.isArray(p)) return p.map(render).join('');
  return escapeHtml(p);
}

/** Tagged template: literal parts are markup, interpolations are escaped (arrays are joined). */
export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Markup produced by a trusted renderer (e.g. a QR code SVG made by the qrcode library). */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
