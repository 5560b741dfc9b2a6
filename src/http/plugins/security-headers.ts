import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Security headers of the HTML parts (portal, SAML pages, console) via @fastify/helmet: a strict
 * Content-Security-Policy (scripts, styles and images from this origin only, no inline script,
 * forms post to this origin only, `frame-ancestors 'none'` against clickjacking), no referrer
 * across origins, HSTS when served over https. The REST API keeps its own plain headers.
 *
 * @param secure the public URL is https (adds upgrade-insecure-requests and HSTS).
 */
export async function registerSecurityHeaders(app: FastifyInstance, o: { secure: boolean }): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(o.secure ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: o.secure ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
  });
}

/**
 * The one page that posts elsewhere: a SAML response form to the SP's ACS URL. Its CSP allows form
 * submission to that origin only, on top of the usual policy.
 */
export function allowFormActionTo(reply: FastifyReply, url: string, secure: boolean): void {
  const origin = new URL(url).origin;
  reply.header(
    'content-security-policy',
    [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "object-src 'none'",
      "base-uri 'none'",
      `form-action 'self' ${origin}`,
      "frame-ancestors 'none'",
      ...(secure ? ['upgrade-insecure-requests'] : []),
    ].join('; '),
  );
}
